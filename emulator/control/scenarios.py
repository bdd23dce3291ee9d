"""`/_emulator/scenario`: export recorded webhook traffic as a replayable scenario (YAML)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .inputs import provider_field

__all__ = ["ROUTES"]


async def export_webhooks(request: Request) -> Response:
    from ..scenarios.export import webhooks_scenario  # the scenario package (jsonschema, a runner) only when asked

    params = request.query_params
    provider = provider_field(params)
    url, event = params.get("url"), params.get("event")
    engine = request.app.state.engine

    def wanted(delivery) -> bool:
        return (
            (provider is None or delivery.provider == provider)
            and (not url or delivery.url.startswith(url))
            and (not event or delivery.event == event)
        )

    deliveries = engine.store.deliveries.page(limit=100_000, where=wanted).items
    return Response(webhooks_scenario(reversed(deliveries)), media_type="application/yaml")


ROUTES = [Route("/scenario", export_webhooks, methods=["GET"])]
