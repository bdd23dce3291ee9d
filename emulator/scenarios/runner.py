"""Running a scenario's steps against an emulator over HTTP, step by step, stopping at the first
failure (later steps are reported as skipped)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from ..control_client import collect, control_token_auth
from ..providers import by_name
from .loader import Scenario

__all__ = ["Runner", "ScenarioResult", "StepResult", "StepFailed"]

_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z0-9_]+)*)\}")


class StepFailed(Exception):
    pass


@dataclass
class StepResult:
    index: int
    kind: str
    title: str
    ok: bool | None  # None: skipped
    message: str = ""
    seconds: float = 0.0


@dataclass
class ScenarioResult:
    name: str
    source: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(step.ok for step in self.steps)


def _title(kind: str, value: Any) -> str:
    if not isinstance(value, dict):
        return f"{kind} {value}"
    keys = ("provider", "method", "path", "message", "status", "to", "from", "url", "amount")
    shown = ", ".join(f"{k}={value[k]}" for k in keys if k in value)
    return f"{kind} {shown}".strip()


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """Every leaf of a JSON value, under its dotted path and under its last key alone."""
    leaves: dict[str, str] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(item, (dict, list)):
                leaves.update(_flatten(item, path))
            else:
                text = "" if item is None else (str(item).lower() if isinstance(item, bool) else str(item))
                leaves[path] = text
                leaves.setdefault(str(key), text)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            leaves.update(_flatten(item, f"{prefix}.{i}" if prefix else str(i)))
    return leaves


def _fields_of(delivery: dict[str, Any]) -> dict[str, str]:
    body = delivery.get("body") or ""
    content_type = next((v for k, v in (delivery.get("headers") or {}).items() if k.lower() == "content-type"), "")
    if "json" in content_type:
        try:
            return _flatten(json.loads(body))
        except ValueError:
            return {}
    if delivery.get("method") == "GET":
        body = urlsplit(delivery.get("url", "")).query
    return dict(parse_qsl(body, keep_blank_values=True))


def _same(expected: Any, actual: str) -> bool:
    wanted = str(expected).lower() if isinstance(expected, bool) else str(expected)
    return wanted == actual or wanted.lstrip("+") == actual.lstrip("+")


class Runner:
    def __init__(self, base_url: str, webhook_target: str | None = None, timeout: float = 30.0, control_token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.webhook_target = webhook_target
        # the control token (this argument, else TELCO_EMULATOR_CONTROL_TOKEN) goes to /_emulator
        # calls only; provider calls pass their own credentials
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout, auth=control_token_auth(control_token))
        self.saved: dict[str, Any] = {}

    def close(self) -> None:
        self.client.close()

    # -- running ---------------------------------------------------------------------------
    def run(self, scenario: Scenario) -> ScenarioResult:
        self.saved = {}
        result = ScenarioResult(scenario.name, scenario.source)
        failed = False
        if scenario.reset:
            try:
                self._expect(self.client.post("/_emulator/reset"), 200, "reset")
            except (StepFailed, httpx.HTTPError) as exc:
                message = str(exc) if isinstance(exc, StepFailed) else f"HTTP error: {exc}"
                result.steps.append(StepResult(-1, "reset", "reset the emulator", False, message))
                failed = True
        for index, step in enumerate(scenario.steps):
            (kind, raw), = step.items()
            if failed:
                result.steps.append(StepResult(index, kind, _title(kind, raw), None))
                continue
            started = time.perf_counter()
            try:
                value = self._substitute(raw)
                title = _title(kind, value)
                outcome = self._handlers()[kind](value)
                if isinstance(value, dict) and value.get("save"):
                    self.saved[value["save"]] = outcome
                result.steps.append(StepResult(index, kind, title, True, seconds=time.perf_counter() - started))
            except (StepFailed, httpx.HTTPError) as exc:
                failed = True
                message = str(exc) if isinstance(exc, StepFailed) else f"HTTP error: {exc}"
                result.steps.append(StepResult(index, kind, _title(kind, raw), False, message, time.perf_counter() - started))
        return result

    def _handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "send_sms": self.send_sms,
            "inbound_sms": self.inbound_sms,
            "inbound_mms": self.inbound_mms,
            "inbound_call": self.inbound_call,
            "expect_call": self.expect_call,
            "advance": self.advance,
            "request": self.request,
            "expect_status": self.expect_status,
            "expect_message": self.expect_message,
            "expect_webhook": self.expect_webhook,
            "expect_balance": self.expect_balance,
            "deliver_webhook": self.deliver_webhook,
        }

    def _substitute(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: self._substitute(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._substitute(item) for item in value]
        if not isinstance(value, str) or "${" not in value:
            return value
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return self._lookup(whole.group(1), whole.group(2))
        return _REFERENCE.sub(lambda m: str(self._lookup(m.group(1), m.group(2))), value)

    def _lookup(self, name: str, path: str) -> Any:
        if name not in self.saved:
            raise StepFailed(f"${{{name}...}} refers to nothing saved (saved so far: {sorted(self.saved) or 'none'})")
        value = self.saved[name]
        for part in filter(None, path.split(".")):
            if isinstance(value, list) and part.isascii() and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            elif isinstance(value, dict) and part in value:
                value = value[part]
            else:
                raise StepFailed(f"${{{name}{path}}}: no field {part!r}")
        return value

    @staticmethod
    def _expect(response: httpx.Response, status: int, what: str) -> Any:
        if response.status_code != status:
            raise StepFailed(f"{what}: expected HTTP {status}, got {response.status_code}: {response.text[:500]}")
        if "json" in response.headers.get("content-type", ""):
            return response.json()
        return response.text

    # -- steps -----------------------------------------------------------------------------
    def send_sms(self, step: dict[str, Any]) -> Any:
        provider = by_name(step["provider"])
        path, body = provider.scenario.send(step)
        presented = provider.scenario.presented(provider.scenario.credentials(step))
        answer = self._expect(self.client.post(path, **body, **presented), 200, f"{provider.title} send")
        try:
            return provider.scenario.sent(answer)
        except ValueError as exc:
            raise StepFailed(f"{provider.title} send: {exc}") from None

    def inbound_sms(self, step: dict[str, Any]) -> Any:
        body = {"to": step["to"], "from": step["from"], "text": step["text"]}
        return self._expect(self.client.post("/_emulator/inbound/sms", json=body), 200, "inbound SMS")

    def inbound_mms(self, step: dict[str, Any]) -> Any:
        body = {key: step[key] for key in ("to", "from", "text", "images") if key in step}
        return self._expect(self.client.post("/_emulator/inbound/mms", json=body), 200, "inbound MMS")

    def expect_call(self, step: dict[str, Any]) -> Any:
        params = {k: step[k] for k in ("provider", "direction", "from", "to", "status") if k in step}
        found = self._expect(self.client.get("/_emulator/calls", params={**params, "limit": 1000}), 200, "calls")["data"]
        if "action" in step:
            found = [c for c in found if any(step["action"] in action for action in c.get("actions") or [])]
        wanted = step.get("count", 1)
        if (wanted == 0 and found) or len(found) < wanted:
            shown = params | ({"action": step["action"]} if "action" in step else {})
            raise StepFailed(f"expected {wanted} call(s) matching {shown}, found {len(found)}")
        return found[0] if found else None

    def inbound_call(self, step: dict[str, Any]) -> Any:
        body = {key: step[key] for key in ("to", "from", "digits") if key in step}
        return self._expect(self.client.post("/_emulator/inbound/call", json=body), 200, "inbound call")

    def advance(self, seconds: Any) -> Any:
        response = self.client.post("/_emulator/clock/advance", json={"seconds": seconds})
        if response.status_code == 409:
            raise StepFailed("advance needs an emulator on the virtual clock (--clock virtual)")
        return self._expect(response, 200, "advance")

    def request(self, step: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {"headers": step.get("headers"), "params": step.get("params")}
        if "form" in step:
            kwargs["data"] = step["form"]
        if "json" in step:
            kwargs["json"] = step["json"]
        if step.get("auth"):
            kwargs["auth"] = tuple(step["auth"])
        response = self.client.request(step["method"], step["path"], **kwargs)
        return self._expect(response, step.get("expect_status", 200), f"{step['method']} {step['path']}")

    def expect_status(self, step: dict[str, Any]) -> Any:
        params = {"kind": "message.*", "id": step["message"], "status": step["status"], "timeout": 2}
        response = self.client.get("/_emulator/wait", params=params)
        if response.status_code == 408:
            found = self.client.get("/_emulator/messages", params={"limit": 1000}).json()["data"]
            actual = next((m["status"] for m in found if m["id"] == step["message"]), "no such message")
            raise StepFailed(f"message {step['message']} never reached {step['status']!r}; it is {actual!r}")
        return self._expect(response, 200, "wait")["event"]

    def expect_message(self, step: dict[str, Any]) -> Any:
        params = {k: step[k] for k in ("provider", "direction", "from", "to", "status") if k in step}
        found = collect(lambda page: self._expect(self.client.get("/_emulator/messages", params=page), 200, "messages"), params, 1000)
        if "text" in step:
            found = [m for m in found if m["text"] == step["text"]]
        wanted = step.get("count", 1)
        if (wanted == 0 and found) or len(found) < wanted:
            raise StepFailed(f"expected {wanted} message(s) matching {params | ({'text': step['text']} if 'text' in step else {})}, found {len(found)}")
        return found[0] if found else None

    def expect_webhook(self, step: dict[str, Any]) -> Any:
        params = {"url": step["url"], "limit": 1000}
        for key in ("event", "state"):
            if key in step:
                params[key] = step[key]
        deliveries = self._expect(self.client.get("/_emulator/webhooks", params=params), 200, "webhooks")["data"]
        wanted = step.get("fields") or {}
        for delivery in reversed(deliveries):  # oldest first
            fields = _fields_of(delivery)
            if all(key in fields and _same(value, fields[key]) for key, value in wanted.items()):
                return {**delivery, "fields": fields}
        seen = [_fields_of(d) for d in deliveries[:5]]
        raise StepFailed(f"no webhook to {step['url']} with {wanted}; {len(deliveries)} sent there, newest: {seen}")

    def expect_balance(self, step: dict[str, Any]) -> Any:
        provider = by_name(step["provider"])
        presented = provider.scenario.presented(provider.scenario.credentials(step))
        account = self._expect(self.client.get(provider.scenario.account_path, **presented), 200, f"{provider.title} account")
        actual = account[provider.scenario.balance_field]
        if abs(float(actual) - float(step["amount"])) > 1e-9:
            raise StepFailed(f"balance is {actual}, expected {step['amount']}")
        return actual

    def deliver_webhook(self, step: dict[str, Any]) -> Any:
        url = step["url"]
        if self.webhook_target:
            target, recorded = urlsplit(self.webhook_target), urlsplit(url)
            path = target.path.rstrip("/") + recorded.path
            url = urlunsplit((target.scheme, target.netloc, path, recorded.query, ""))
        recorded = f" (recorded as {step['url']})" if url != step["url"] else ""
        try:
            response = httpx.request(step["method"], url, headers=step.get("headers"), content=(step.get("body") or "").encode(), timeout=10)
        except httpx.HTTPError as exc:
            raise StepFailed(f"{step['method']} {url}{recorded}: {exc or type(exc).__name__}") from None
        expected = step.get("expect_status")
        ok = response.status_code == expected if expected else 200 <= response.status_code < 300
        if not ok:
            raise StepFailed(f"{step['method']} {url}{recorded} answered {response.status_code}: {response.text[:300]}")
        return {"status": response.status_code, "body": response.text}
