"""46elks call scripts: the JSON action language that runs while a call is up.

When a call is answered its `voice_start` runs: an action object given inline, or a URL that is
POSTed the call's data (`callid`, `from`, `to`, `direction`, `created`) and answers with one.
Every action but `hangup` may name what follows in `next` (a URL, POSTed `callid` and `result`
with the call's data, or a nested action); without it the call ends. Actions:

- `play`: an audio URL; takes `PLAY_SECONDS`; result `success`.
- `ivr`: a prompt, `digits` (1), `timeout` (10, 1-30), `repeat` (3), keys `"0"`-`"9"` mapping
  to actions or URLs; the keys come from the call's outcome rule. A mapped key runs its branch;
  an unmapped one goes to `next` with `result=<keys>` (without `next` the prompt repeats). No
  keys after every repeat: `next` with `result=failed`.
- `connect`: a number (a comma list rings them all, the first to answer wins; `sip:` URIs ring
  like numbers), `callerid` (default: the call's `from`), `timeout` (60), branches `success`,
  `busy`, `failed` (else `next`), run once the connected party hangs up or does not answer.
- `record`: a URL that receives the recording (or `local/<name>`: kept for the call only),
  `timelimit` (120); the callee speaks for `RECORD_SECONDS`; result `success`.
- `recordcall` (with another action): the rest of the call is recorded and POSTed at its end.
- `hangup`: ends the call. `busy` and `404` only as the call's first action (the call then ends
  `busy` or `failed`, never taken); later, only `reject` is allowed, anything else ends the call
  as `failed` with the reason kept.
- an incoming call to a Swedish mobile number may only be `connect`ed to Swedish mobile numbers
  (46elks' rule); other targets are not rung and the connect's result is `failed`.
Any action may carry `whenhangup`, which replaces the call's. A call-control request is one
exchange, never retried: an answer other than 200-204 with a JSON object (an empty answer just
ends the call) ends the call with the reason kept on it. A script that runs more than
`MAX_STEPS` actions and requests (a loop) is ended the same way.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

from ..core.calls import FINAL_CALL_STATUSES
from ..core.engine import Engine
from ..core.errors import InvalidNumber, InvalidWebhookTarget
from ..core.models import INBOUND, Attempt, Call, Delivery, Leg
from ..core.phone import parse_e164, region_of
from ..core.webhook_targets import check_target_url, target_url_problem
from ..http.params import strict_json
from .number_pool import category_of
from .render import timestamp

__all__ = ["CallScript", "MAX_STEPS", "PLAY_SECONDS", "RECORD_SECONDS", "VERBS", "is_action_text", "is_url", "check_action_targets"]

log = logging.getLogger("emulator.elks.voice")

MAX_STEPS = 100
PLAY_SECONDS = 3.0  # every `play` (and every ivr prompt) lasts this long
RECORD_SECONDS = 5.0  # how long a callee speaks into a `record`
CONNECT_TIMEOUT = 60.0
VERBS = ("connect", "play", "ivr", "record", "hangup")
# `hangup` values allowed only as a call's first action, and the state the call then ends in.
TURN_AWAY = {"busy": "busy", "404": "failed"}
_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_LEG_RESULTS = {"ended": "success", "busy": "busy"}  # anything else: failed
# Keys whose value may be a URL the emulator requests or posts to (the `ivr` digit keys too).
_TARGET_KEYS = frozenset({"next", "whenhangup", "success", "busy", "failed", "record", "recordcall", *"0123456789"})

SaveRecording = Callable[[Call, int, "str | None"], Any]


def is_url(text: str) -> bool:
    """An http(s) URL the emulator can deliver to (see `core.webhook_targets`), without spaces."""
    text = text.strip()
    return " " not in text and target_url_problem(text) is None


def _looks_like_url(text: str) -> bool:
    return "://" in text or any(char < " " or char == "\x7f" for char in text)


def check_action_targets(field: str, action: Any) -> None:
    """Every URL an action given inline names as its follow-up (`next`, `whenhangup`, the
    branches, `record`, the `ivr` digit keys), nested actions included, must be a target the
    emulator can deliver to; raises InvalidWebhookTarget naming `field` otherwise. Text that
    is no URL at all (a local recording name) is left to the script, as before."""
    pending = [action]
    while pending:
        item = pending.pop()
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if isinstance(value, dict):
                pending.append(value)
            elif key in _TARGET_KEYS and isinstance(value, str) and not value.strip().startswith("{") and _looks_like_url(value):
                if " " in value.strip():
                    raise InvalidWebhookTarget(field, value, f"the {key} URL contains a space")
                check_target_url(field, value)


def is_action_text(text: str) -> bool:
    """A JSON object written as text, as `voice_start` may be."""
    try:
        return isinstance(strict_json(text), dict)
    except ValueError:
        return False


def _swedish_mobile(target: str) -> bool:
    return target.startswith("+46") and region_of(target) == "SE" and category_of(target) == "mobile"


def _number(value: Any, default: float, low: float, high: float) -> float:
    """A count or seconds from an action (46elks accepts `15` and `"15"`); default when absent
    or outside [low, high]."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if low <= number <= high else default


class CallScript:
    """The script of one 46elks call, from its answer to its end."""

    def __init__(self, engine: Engine, call: Call, save_recording: SaveRecording) -> None:
        self.engine = engine
        self.call = call
        self.save_recording = save_recording
        self.steps = 0
        self._recording: tuple[int, str, dict[str, Any]] | None = None  # a `record` under way
        self._call_recordings: list[tuple[int, str]] = []  # `recordcall`s: (started, url)

    # -- the call's data, as every call-control request carries it ----------------------
    def fields(self, **extra: str) -> dict[str, str]:
        call = self.call
        data = {
            "callid": call.id,
            "from": call.sender,
            "to": call.recipient,
            "direction": "incoming" if call.direction == INBOUND else "outgoing",
            "created": timestamp(call.created),
        }
        return {**data, **extra}

    @property
    def over(self) -> bool:
        return self.call.status in FINAL_CALL_STATUSES

    # -- running -------------------------------------------------------------------------
    def start(self, voice_start: str | None) -> None:
        if not voice_start:
            self.fail(f"the number {self.call.recipient} has no voice_start")
            return
        extra = {"result": "newincoming"} if self.call.direction == INBOUND else {}
        self.follow(voice_start, None, event="call.voice_start", extra=extra)

    def follow(self, target: Any, result: str | None, *, event: str = "call.next", extra: dict[str, str] | None = None) -> None:
        """Go on with `target`: an action object, a URL to ask for one, a JSON action written
        as text; nothing ends the call."""
        if self.over:
            return
        if target is None or target == "":
            self.engine.calls.hangup(self.call, by="script")
        elif isinstance(target, dict):
            self.run(target)
        elif isinstance(target, str) and target.strip().startswith("{"):
            try:
                action = strict_json(target)
            except ValueError as exc:
                self.fail(f"not a JSON action: {target[:200]!r} ({exc})")
                return
            self.run(action)  # text that starts with "{" and parses is an object
        elif isinstance(target, str) and is_url(target):
            fields = self.fields(**(extra or {}))
            if result is not None:
                fields["result"] = result
            self.fetch(target.strip(), fields, event)
        else:
            self.fail(f"expected an action object or an http(s) URL, got {json.dumps(target)[:200]}")

    def fetch(self, url: str, fields: dict[str, str], event: str) -> None:
        if not self._step():
            return
        self.engine.outbox.request_once(
            provider="elks",
            account_id=self.call.account_id,
            event=event,
            url=url,
            headers=_FORM,
            body=urlencode(fields).encode(),
            subject_id=self.call.id,
            on_result=self._answered,
        )

    def _answered(self, delivery: Delivery, attempt: Attempt) -> None:
        if self.over:
            return
        if attempt.status is None:
            self.fail(f"{delivery.url} could not be reached: {attempt.error}")
            return
        if not 200 <= attempt.status <= 204:
            self.fail(f"{delivery.url} answered HTTP {attempt.status}; a call-control URL must answer 200-204 with a JSON action")
            return
        if attempt.error:  # answered, but longer than the emulator reads: not a usable action
            self.fail(f"{delivery.url} answered HTTP {attempt.status}, but {attempt.error}; a call-control answer must be a short JSON action")
            return
        text = (attempt.response_body or "").strip()
        if not text:
            self.engine.calls.hangup(self.call, by="script")
            return
        try:
            action = strict_json(text)
        except ValueError:
            self.fail(f"{delivery.url} answered something that is not JSON: {text[:200]!r}")
            return
        if not isinstance(action, dict):
            self.fail(f"{delivery.url} answered JSON that is not an action object: {text[:200]}")
            return
        self.run(action)

    def run(self, action: dict[str, Any]) -> None:
        if self.over or not self._step():
            return
        hook = action.get("whenhangup")
        if isinstance(hook, str) and is_url(hook):
            self.call.attributes["whenhangup"] = hook.strip()
        verb = next((name for name in VERBS if name in action), None)
        if verb is None:
            self.fail(f"no action ({', '.join(VERBS)}) in {json.dumps(action)[:200]}")
            return
        record_call = action.get("recordcall")
        if isinstance(record_call, str) and record_call:
            self._call_recordings.append((self.engine.clock.now(), record_call))
        getattr(self, f"_{verb}")(action)

    def _step(self) -> bool:
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.fail(f"the call's script ran more than {MAX_STEPS} actions and requests; it probably loops")
            return False
        return True

    def fail(self, reason: str) -> None:
        log.info("46elks call %s ended: %s", self.call.id, reason)
        self.engine.calls.hangup(self.call, by="error", error=reason)

    def _log(self, verb: str, action: dict[str, Any]) -> dict[str, Any]:
        value = action[verb]
        return self.engine.calls.record_action(self.call, {verb: value if isinstance(value, (str, int, float)) else json.dumps(value)})

    def _done(self, entry: dict[str, Any], result: str, target: Any) -> None:
        entry["result"] = result
        self.follow(target, result)

    # -- the actions ---------------------------------------------------------------------
    def _play(self, action: dict[str, Any]) -> None:
        entry = self._log("play", action)
        self.engine.calls.after(self.call, PLAY_SECONDS, lambda: self._done(entry, "success", action.get("next")))

    def _ivr(self, action: dict[str, Any]) -> None:
        entry = self._log("ivr", action)
        count = int(_number(action.get("digits"), 1, 1, 50))
        timeout = _number(action.get("timeout"), 10, 1, 30)
        repeat = int(_number(action.get("repeat"), 3, 1, 100))

        def ask(round_number: int) -> None:
            self.engine.calls.prompt(self.call, count, PLAY_SECONDS + timeout, lambda keys: heard(keys, round_number))

        def heard(keys: str, round_number: int) -> None:
            if keys and keys in action and keys.isdigit():
                self._done(entry, keys, action[keys])
            elif keys and "next" in action:
                self._done(entry, keys, action["next"])
            elif round_number + 1 < repeat:
                ask(round_number + 1)
            else:
                self._done(entry, "failed", action.get("next"))

        ask(0)

    def _connect(self, action: dict[str, Any]) -> None:
        entry = self._log("connect", action)
        targets = []
        for raw in str(action["connect"]).split(","):
            raw = raw.strip()
            if raw.lower().startswith(("sip:", "sips:")):
                targets.append(raw)
                continue
            try:
                targets.append(parse_e164(raw, "connect").e164)
            except InvalidNumber:
                pass
        refused = self._refused_targets(targets)
        if refused:
            log.info("46elks call %s: %s", self.call.id, refused)
            self.call.attributes["connect_refused"] = refused  # shown by /_emulator/calls
            targets = []
        if not targets:
            self._branch(entry, action, "failed")
            return
        timeout = _number(action.get("timeout"), CONNECT_TIMEOUT, 1, 3600)
        caller_id = str(action.get("callerid") or self.call.sender)
        target = self._first_to_answer(targets, timeout)

        def over(leg: Leg) -> None:
            self._branch(entry, action, _LEG_RESULTS.get(leg.status, "failed"))

        self.engine.calls.connect(self.call, target, caller_id=caller_id, timeout=timeout, on_done=over)

    def _refused_targets(self, targets: list[str]) -> str | None:
        """46elks connects an incoming call to a Swedish mobile number of its own only to Swedish
        mobile numbers; why `targets` break that rule, or None."""
        call = self.call
        if call.direction != INBOUND or not _swedish_mobile(call.recipient):
            return None
        others = [target for target in targets if not _swedish_mobile(target)]
        if not others:
            return None
        return (f"an incoming call to the Swedish mobile number {call.recipient} may only be connected to "
                f"Swedish mobile numbers, not {', '.join(others)}")

    def _first_to_answer(self, targets: list[str], timeout: float) -> str:
        """Of numbers that ring at once, the one that answers first (else the first)."""
        answering = []
        for position, target in enumerate(targets):
            outcome = self.engine.calls.outcome_for("elks", target)
            if outcome.status == "answered" and outcome.ring_time <= timeout:
                answering.append((outcome.ring_time, position, target))
        return min(answering)[2] if answering else targets[0]

    def _branch(self, entry: dict[str, Any], action: dict[str, Any], result: str) -> None:
        self._done(entry, result, action[result] if result in action else action.get("next"))

    def _record(self, action: dict[str, Any]) -> None:
        entry = self._log("record", action)
        seconds = min(_number(action.get("timelimit"), 120, 1, 3600), RECORD_SECONDS)
        self._recording = (self.engine.clock.now(), str(action["record"]), entry)

        def finished() -> None:
            self._finish_record()
            self._done(entry, "success", action.get("next"))

        self.engine.calls.after(self.call, seconds, finished)

    def _finish_record(self) -> None:
        if self._recording is None:
            return
        started, target, _ = self._recording
        self._recording = None
        if not target.startswith("local/"):
            self.save_recording(self.call, round(self.engine.calls.elapsed(started)), target if is_url(target) else None)

    def _hangup(self, action: dict[str, Any]) -> None:
        first = not self.call.actions
        entry = self._log("hangup", action)
        how = str(action["hangup"]).strip().lower()
        if how in TURN_AWAY:
            if not first:
                entry["result"] = "failed"
                self.fail(f"hangup {how!r} is only allowed as the first action; later, only 'reject' is")
                return
            # The caller hears busy (or "no such number"): the call was never taken.
            self.call.attributes["turned_away"] = TURN_AWAY[how]
        entry["result"] = "success"
        self.engine.calls.hangup(self.call, by="script")

    # -- the end -------------------------------------------------------------------------
    def ended(self) -> None:
        """The call is over: keep what was being recorded, and every `recordcall`."""
        self._finish_record()
        for started, url in self._call_recordings:
            self.save_recording(self.call, round(self.engine.calls.elapsed(started)), url if is_url(url) else None)
        self._call_recordings.clear()
