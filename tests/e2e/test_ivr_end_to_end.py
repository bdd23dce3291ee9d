"""The real process runs a 46elks IVR call against a real local call-control server:
voice_start URL -> ivr (the magic callee presses 1) -> next URL -> connect -> whenhangup,
with simulated time sped up by --time-scale. The test waits on the server, never sleeps."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator
from urllib.parse import parse_qsl

import httpx
import pytest

AUTH = ("test_user", "test_password")
OUR_NUMBER = "+46766861001"


@dataclass
class CallControlServer:
    """Answers each path with the JSON action in `answers` (or an empty 204) and records every
    request's form fields."""

    url: str = ""
    answers: dict[str, dict] = field(default_factory=dict)
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, path: str, timeout: float = 15.0) -> dict[str, str]:
        def found():
            return next((form for hit_path, form in self.hits if hit_path == path), None)

        with self.changed:
            assert self.changed.wait_for(lambda: found() is not None, timeout), f"nothing reached {path}: {self.hits}"
            return found()


@pytest.fixture
def call_control() -> Iterator[CallControlServer]:
    server_state = CallControlServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            answer = server_state.answers.get(self.path)
            body = json.dumps(answer).encode() if answer is not None else b""
            self.send_response(200 if body else 204)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            with server_state.changed:
                server_state.hits.append((self.path, form))
                server_state.changed.notify_all()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("emulator_process", [("--time-scale", "20")], indirect=True)
def test_ivr_call_flow_through_a_real_call_control_server(emulator_process, call_control):
    base = call_control.url
    call_control.answers["/voice-start"] = {
        "ivr": "https://sounds.example/menu.mp3",
        "digits": 1,
        "timeout": 10,
        "next": f"{base}/menu-choice",
    }
    call_control.answers["/menu-choice"] = {"connect": "+46700000490", "callerid": OUR_NUMBER}
    with httpx.Client(base_url=emulator_process.url, timeout=10) as client:
        before = client.get("/a1/me", auth=AUTH).json()["balance"]
        placed = client.post(
            "/a1/Calls",
            data={"from": OUR_NUMBER, "to": "+46700000489", "voice_start": f"{base}/voice-start", "whenhangup": f"{base}/hangup"},
            auth=AUTH,
        )
        assert placed.status_code == 200, placed.text
        call_id = placed.json()["id"]
        assert placed.json()["state"] == "ongoing"

        start = call_control.wait_for("/voice-start")
        assert (start["callid"], start["direction"], start["from"], start["to"]) == (call_id, "outgoing", OUR_NUMBER, "+46700000489")
        choice = call_control.wait_for("/menu-choice")
        assert (choice["callid"], choice["result"]) == (call_id, "1")  # the magic callee pressed 1

        hangup = call_control.wait_for("/hangup")
        assert (hangup["callid"], hangup["state"], hangup["cost"]) == (call_id, "success", "3000")
        legs = json.loads(hangup["legs"])
        assert [(leg["to"], leg["from"], leg["state"]) for leg in legs] == [("+46700000490", OUR_NUMBER, "success")]
        assert 5 <= legs[0]["duration"] <= 6  # the connected magic number hangs up after 5 s
        assert json.loads(hangup["actions"]) == [
            {"ivr": "https://sounds.example/menu.mp3", "result": "1"},
            {"connect": "+46700000490", "result": "success"},
        ]
        assert 10 <= int(hangup["duration"]) <= 14  # 2 s to press, 3 s of ringing, 5 s of talk

        call = client.get(f"/a1/Calls/{call_id}", auth=AUTH).json()
        assert (call["state"], call["duration"], call["legs"]) == ("success", int(hangup["duration"]), legs)
        assert client.get("/a1/me", auth=AUTH).json()["balance"] == before - 3000
        exchanges = client.get("/_emulator/webhooks", params={"subject": call_id}).json()["data"]
        assert sorted(d["event"] for d in exchanges) == ["call.next", "call.voice_start", "call.whenhangup"]
        listed = client.get("/_emulator/calls", params={"provider": "elks"}).json()["data"]
        assert listed[0]["id"] == call_id and listed[0]["status"] == "ended" and listed[0]["ended_by"] == "script"
