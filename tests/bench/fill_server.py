"""The emulator exactly as `python -m emulator` runs it (same CLI, settings, uvicorn, socket and GC
setup), plus one benchmark-only route that fills the store fast, for bench_list.py:

    python tests/bench/fill_server.py --port P --log-level warning --fixtures FILE

`POST /_bench/fill` with `{"account": ID, "count": N}` sends N SMS for that account through
the engine, as the send handlers do once a request is validated (`engine.quote_sms`, an
`Outgoing` with the handler's attributes, `engine.send_messages` with the provider's id
factory), so the stored records, the ids, the lifecycle events and the event log are the ones
HTTP sends would leave; only the HTTP parsing and rendering are skipped. It works in chunks and
yields to the event loop between them, so the clock fires due status changes meanwhile, as it
would under real traffic. The answer says how long it took and the creation stamp of the
account's middle message (for a deep page). `GET /_bench/pending` counts the clock's pending
events. Nothing else differs from `python -m emulator`; the route exists only in this script.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the checkout this benchmark is in, not an installed copy

import emulator.app as app_module  # noqa: E402
from emulator.cli import main
from emulator.core.engine import Engine, Outgoing
from emulator.core.phone import parse_e164
from emulator.seven.sms import next_sms_id

CHUNK = 2000
RECIPIENTS = {"elks": "+4670{:07d}", "seven": "+49176{:07d}"}
DISTINCT_RECIPIENTS = 5000  # the number cache holds them all, as with a client's real contacts


def _batch_item(engine: Engine, provider: str, index: int) -> Outgoing:
    recipient = parse_e164(RECIPIENTS[provider].format(1_000_000 + index % DISTINCT_RECIPIENTS))
    text = f"Benchmark message number {index}, sent to fill the store."
    quote = engine.quote_sms(provider, recipient, text)
    if provider == "elks":  # as emulator/elks/sms.py send_sms builds it
        return Outgoing(quote, "ElkCo", text, None, {"flashsms": False, "dontlog": False})
    attributes = {"label": None, "foreign_id": None, "flash": False, "udh": None, "performance_tracking": False}
    return Outgoing(quote, "seven.io", text, None, attributes)  # as emulator/seven/sms.py send_sms


async def fill(engine: Engine, account_id: str, count: int) -> dict:
    account = engine.store.accounts[account_id]
    make_id = (lambda: engine.ids.hex_id("s")) if account.provider == "elks" else (lambda: next_sms_id(engine))
    started = time.perf_counter()
    done = 0
    while done < count:
        size = min(CHUNK, count - done)
        for offset in range(size):  # one send request per message, as clients send them
            engine.send_messages(account, [_batch_item(engine, account.provider, done + offset)], make_id)
        done += size
        await asyncio.sleep(0)  # let due lifecycle events fire and other requests in
    index = engine.store.messages._by_owner[account_id]
    return {"count": count, "seconds": time.perf_counter() - started, "stored": len(index),
            "middle_created": index[len(index) // 2][0]}


class BenchRoutes:
    """ASGI wrapper: `/_bench/...` is answered here, everything else goes to the emulator."""

    def __init__(self, app, engine: Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/_bench/"):
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["path"] == "/_bench/fill":
            request = json.loads(body)
            answer = await fill(self.engine, request["account"], int(request["count"]))
        else:
            answer = {"pending": self.engine.clock.pending()}
        payload = json.dumps(answer).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


_create_app = app_module.create_app


def create_app_with_bench_routes(settings=None, *, engine=None):
    app = _create_app(settings, engine=engine)
    return BenchRoutes(app, app.state.engine)


if __name__ == "__main__":
    app_module.create_app = create_app_with_bench_routes  # cli.main imports it from emulator.app at call time
    sys.exit(main(sys.argv[1:]))
