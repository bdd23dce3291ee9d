"""Recorded webhook traffic as a scenario: one `deliver_webhook` step per delivery, oldest first,
so the same requests can be replayed against a user's webhook endpoint."""

from __future__ import annotations

from typing import Any, Iterable

import yaml

from ..core.models import Delivery

__all__ = ["webhooks_scenario"]

_HOP_HEADERS = {"content-length", "host", "connection", "accept-encoding", "user-agent", "accept"}


def webhooks_scenario(deliveries: Iterable[Delivery], name: str = "Recorded webhooks") -> str:
    steps: list[dict[str, Any]] = []
    for delivery in deliveries:
        headers = dict(delivery.attempts[0].request_headers if delivery.attempts else delivery.headers)
        step = {
            "url": delivery.url,
            "method": delivery.method,
            "headers": {k: v for k, v in headers.items() if k.lower() not in _HOP_HEADERS},
        }
        if delivery.body:
            step["body"] = delivery.body.decode("utf-8", "replace")
        steps.append({"deliver_webhook": step})
    document = {
        "name": name,
        "description": "Webhooks recorded by telco-emulator; replay with: telco-emulator replay FILE --webhook-target URL",
        "reset": False,
        "steps": steps,
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
