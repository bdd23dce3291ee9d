"""With the real clock, the virtual-clock controls refuse politely."""

import httpx

from emulator.app import create_app
from emulator.settings import Settings


async def test_advance_refused_on_real_clock():
    app = create_app(Settings(clock="real"))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost") as client:
            response = await client.post("/_emulator/clock/advance", json={"seconds": 1})
            assert response.status_code == 409
            assert "virtual" in response.json()["error"]["message"]
            assert (await client.get("/_emulator/health")).json()["clock"] == "real"
