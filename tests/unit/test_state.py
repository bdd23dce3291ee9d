"""The `--state` file's autosave: saves what changed, skips what did not, never leaves a partial
file, and lets the save at shutdown be the last one written."""

from __future__ import annotations

import asyncio
import json
import os

import httpx
import pytest

from emulator.world.state import Autosaver, ChangeCounter, write_state_file

ELKS_AUTH = ("test_user", "test_password")


def texts(path) -> list[str]:
    return [message["text"] for message in json.loads(path.read_text())["messages"]]


async def test_a_save_happens_only_when_the_world_changed(emulator, tmp_path):
    path = tmp_path / "state.json"
    saver = Autosaver(emulator.engine, str(path), 5)
    assert await saver.save_if_changed() is False and not path.exists()  # the fixtures: nothing new
    sent = await emulator.client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "one"}, auth=ELKS_AUTH)
    assert sent.status_code == 200
    assert await saver.save_if_changed() is True and texts(path) == ["one"]
    written = path.stat().st_mtime_ns
    assert await saver.save_if_changed() is False  # nothing since
    assert (saver.saves, saver.skipped) == (1, 2) and path.stat().st_mtime_ns == written
    await emulator.client.post("/_emulator/reset")
    assert await saver.save_if_changed() is True and texts(path) == []


async def test_a_change_the_events_do_not_show_is_caught_by_the_request_count(emulator, tmp_path):
    path = tmp_path / "state.json"
    requests = {"count": 0}
    saver = Autosaver(emulator.engine, str(path), 5, changes=lambda: requests["count"])
    emulator.engine.store.accounts[next(iter(emulator.engine.store.accounts.keys()))].balance = 1  # no event
    assert await saver.save_if_changed() is False
    requests["count"] += 1
    assert await saver.save_if_changed() is True


async def test_stop_waits_for_the_write_in_progress(emulator, tmp_path):
    path = tmp_path / "state.json"
    saver = Autosaver(emulator.engine, str(path), 5)
    await emulator.client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "in flight"}, auth=ELKS_AUTH)
    saving = asyncio.ensure_future(saver.save_if_changed())
    await asyncio.sleep(0)  # the snapshot is taken and handed to the writing thread
    saving.cancel()  # as the tick is at shutdown
    await saver.stop()
    assert texts(path) == ["in flight"]  # written whole before stop() returned


async def test_a_failed_save_is_reported_once_and_retried(emulator, tmp_path, capsys):
    path = tmp_path / "missing-directory" / "state.json"
    saver = Autosaver(emulator.engine, str(path), 5)
    await emulator.client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "x"}, auth=ELKS_AUTH)
    assert await saver.save_if_changed() is False
    assert await saver.save_if_changed() is False
    err = capsys.readouterr().err
    assert err.count("cannot save the state to") == 1 and str(path) in err
    path.parent.mkdir()
    assert await saver.save_if_changed() is True and texts(path) == ["x"]
    assert "saved to" in capsys.readouterr().err


def test_a_document_that_cannot_be_written_leaves_the_old_file_and_no_partial_one(tmp_path):
    path = tmp_path / "state.json"
    write_state_file({"version": 1}, str(path))
    with pytest.raises(ValueError):
        write_state_file({"version": 2, "broken": object()}, str(path))
    assert json.loads(path.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == ["state.json"]


def test_an_integer_beyond_64_bits_is_still_written(tmp_path):
    path = tmp_path / "state.json"
    write_state_file({"balance": 10**30, "text": "Grüße"}, str(path))
    assert json.loads(path.read_text(encoding="utf-8")) == {"balance": 10**30, "text": "Grüße"}


def test_the_autosave_interval_must_be_positive(engine, tmp_path):
    with pytest.raises(ValueError, match="positive"):
        Autosaver(engine, str(tmp_path / "s.json"), 0)


async def test_the_change_counter_counts_what_may_change_the_world():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    counter = ChangeCounter(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=counter), base_url="http://emulator.test") as client:
        await client.get("/_emulator/messages")
        await client.get("/_emulator/events")
        assert counter.count == 0
        await client.get("/api/sms", params={"to": "+4917612345678", "text": "a GET that sends"})
        await client.post("/_emulator/reset")
        await client.post("/a1/SMS")
        assert counter.count == 3


async def _sent_messages(emulator, count: int) -> list[str]:
    ids = []
    for index in range(count):
        sent = await emulator.client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": f"m{index}"}, auth=ELKS_AUTH)
        assert sent.status_code == 200
        ids.append(sent.json()["id"])
        await emulator.advance(0.001)  # a creation time of its own
    return ids


async def test_an_autosave_renders_the_messages_off_the_event_loop(emulator, tmp_path, monkeypatch):
    """The loop only copies the bulk of the world; the messages become resources (their times
    written as text) in the writer thread. Counted by where each message's time is written."""
    import threading

    from emulator.core import snapshot as snapshots

    path = tmp_path / "state.json"
    saver = Autosaver(emulator.engine, str(path), 5)
    await emulator.advance(1)  # after the fixtures' accounts were made
    ids = await _sent_messages(emulator, 20)
    clock = emulator.engine.clock
    created = {emulator.engine.store.messages.get(message_id).created for message_id in ids} - {clock.now(), clock._last_stamp}
    rendered_where: list[tuple[int, int]] = []
    real_time_text = snapshots.time_text

    def recording_time_text(micros: int) -> str:
        rendered_where.append((micros, threading.get_ident()))
        return real_time_text(micros)

    monkeypatch.setattr(snapshots, "time_text", recording_time_text)
    assert await saver.save_if_changed() is True
    loop_thread = threading.get_ident()
    on_the_loop = [micros for micros, thread in rendered_where if micros in created and thread == loop_thread]
    elsewhere = [micros for micros, thread in rendered_where if micros in created and thread != loop_thread]
    assert on_the_loop == [] and len(elsewhere) >= len(created) >= len(ids) - 2
    assert texts(path) == [f"m{index}" for index in range(20)]


async def test_an_autosave_writes_the_world_of_one_instant_while_it_changes(emulator, tmp_path, monkeypatch):
    """Changes made while the writer thread renders and writes are not in the file: it holds
    the world as it was when the save began, byte for byte what `take` gave then."""
    import threading

    import orjson

    from emulator.world import state
    from emulator.core import snapshot as snapshots

    path = tmp_path / "state.json"
    saver = Autosaver(emulator.engine, str(path), 5)
    ids = await _sent_messages(emulator, 5)
    before = orjson.dumps(snapshots.take(emulator.engine))
    go_on = threading.Event()
    real_write = state.write_state_file

    def held_write(document, path):
        assert go_on.wait(10)
        real_write(document, path)

    monkeypatch.setattr(state, "write_state_file", held_write)
    saving = asyncio.ensure_future(saver.save_if_changed())
    await asyncio.sleep(0)  # the world is copied; the writer thread waits
    message = emulator.engine.store.messages.get(ids[0])
    message.attributes["changed"] = True
    message.history.append(type(message.history[0])("failed", message.created + 9))
    message.history[0].status = "changed in place"
    message.status = "failed"
    await emulator.client.post("/a1/SMS", data={"from": "ElkCo", "to": "+46700000123", "message": "later"}, auth=ELKS_AUTH)
    go_on.set()
    assert await saving is True
    assert orjson.dumps(json.loads(path.read_bytes())) == before


def test_a_large_world_is_encoded_a_slice_at_a_time_into_the_same_bytes(tmp_path, monkeypatch):
    """orjson holds the interpreter while it encodes; no single call encodes more than a slice
    of the records (so the event loop runs between two), and the file is what one call gives."""
    import orjson

    from emulator.world import state

    records = [{"id": f"m{index}", "text": "Grüße \N{SMILING FACE WITH SMILING EYES}", "n": index, "flag": index % 2 == 0, "none": None} for index in range(5 * state.RECORDS_PER_ENCODING + 7)]
    document = {"format": "x", "messages": records, "small": [1, 2], "deliveries": records[:3], "after": {"k": [records[0]]}}
    largest = []
    real_dumps = orjson.dumps

    class CountingOrjson:
        JSONEncodeError = orjson.JSONEncodeError
        Fragment = getattr(orjson, "Fragment", None)

        @staticmethod
        def dumps(value, *args, **kwargs):
            lists = [value] if isinstance(value, list) else [item for item in value.values() if isinstance(item, list)] if isinstance(value, dict) else []
            largest.append(max((len(item) for item in lists), default=0))
            return real_dumps(value, *args, **kwargs)

    monkeypatch.setattr(state, "orjson", CountingOrjson)
    path = tmp_path / "state.json"
    write_state_file(document, str(path))
    assert path.read_bytes() == real_dumps(document)
    assert max(largest) <= state.RECORDS_PER_ENCODING


@pytest.mark.parametrize("bad", [{1: "a name that is not text"}, {"odd": object()}])
async def test_a_world_a_snapshot_cannot_hold_is_reported_and_no_file_written(emulator, tmp_path, capsys, bad):
    path = tmp_path / "state.json"
    saver = Autosaver(emulator.engine, str(path), 5)
    ids = await _sent_messages(emulator, 1)
    emulator.engine.store.messages.get(ids[0]).attributes.update(bad)
    assert await saver.save_if_changed() is False and not path.exists()
    assert "cannot save the state to" in capsys.readouterr().err
