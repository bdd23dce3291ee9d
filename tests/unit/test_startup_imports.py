"""Start-up (issue 17, item 4): building the app with the default fixtures imports only what
every request needs. Libraries that only some requests use (snapshot and scenario validation,
number lookups, MMS images, carrier data) are imported when first used, and the webhook client
(httpx) by the outbox in a worker thread as the server starts, so the emulator is ready sooner
and smaller at rest."""

from __future__ import annotations

import json
import subprocess
import sys

DEFERRED = ("jsonschema", "jsonschema_rs", "faker", "PIL", "emulator.scenarios", "phonenumbers.carrierdata", "phonenumbers.carrier",
            "httpx", "emulator.core.transport")

PROBE = """
import json, sys
from emulator.app import create_app
from emulator.settings import Settings
create_app(Settings())
print(json.dumps(sorted(name for name in %r if name in sys.modules)))
""" % (DEFERRED,)


def test_building_the_app_leaves_request_specific_libraries_unimported():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_deferred_libraries_still_serve_their_requests():
    from emulator.core.snapshot import schema_problem

    problem = schema_problem({"format": "telco-emulator"}, fast=False)  # jsonschema itself
    assert problem is not None
    from emulator.seven.lookup import _faker

    assert _faker().name()


def test_the_outbox_loads_the_webhook_client_as_it_starts_and_still_delivers():
    import asyncio

    from emulator.app import create_app
    from emulator.settings import Settings

    async def scenario():
        app = create_app(Settings(clock="virtual"))
        outbox = app.state.engine.outbox
        worker = asyncio.create_task(outbox.run())
        try:
            for _ in range(500):
                if outbox._client is not None:
                    break
                await asyncio.sleep(0.01)
            assert outbox._client is not None  # the client is made once httpx is in, off the loop
            return type(outbox._client).__module__
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    assert asyncio.run(scenario()).startswith("httpx")
