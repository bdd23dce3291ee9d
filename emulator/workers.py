"""`telco-emulator --workers N`: N processes on one host serving one shared world.

The parent (`serve_workers`) checks what every worker would otherwise each complain about (the
fixtures, the shared world in Redis), binds the listening socket once and starts N workers,
fresh interpreters (`python -m emulator.workers`) that inherit the socket, as uvicorn's own
workers do: the kernel hands each new connection to one of them, and `--port 0` works because
the port is chosen once, by the parent. Every worker keeps its own copy of the world, kept in
step through the world's log in Redis (`emulator/shared/`), so which worker answers does not
matter; each answer says which one did, in `X-Telco-Emulator-Worker` (its process id).

The parent supervises:
- it prints one ready line once every worker is ready; a worker that exits before it is ready
  stops them all, and the parent exits with status 1;
- SIGTERM or SIGINT is passed on to every worker as SIGTERM (a second one: SIGKILL), and the
  parent exits once they all have (each finishes the requests it has, as a lone process does);
- a worker that dies afterwards is started again, with one line on stderr; one that keeps dying
  soon after its start is started again after a growing pause.

A worker ends on its own when the parent is gone (killed without warning): it watches a pipe
whose only writer is the parent.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .settings import Settings

__all__ = ["serve_workers", "Worker", "WORKER_HEADER"]

WORKER_HEADER = b"x-telco-emulator-worker"
STOP_GRACE = 20.0  # seconds the workers have to finish after SIGTERM before they are killed
SOON = 10.0  # a worker that dies within this many seconds of its start is started again after a pause
MAX_PAUSE = 30.0


# -- the parent ---------------------------------------------------------------------------------
@dataclass
class _Child:
    number: int
    process: subprocess.Popen
    started_at: float
    ready: bool = False


@dataclass
class _Supervisor:
    settings: Settings
    arguments: list[str]
    sock: socket.socket
    status_read: int
    status_write: int
    lifeline_read: int
    children: dict[int, _Child] = field(default_factory=dict)
    pauses: dict[int, float] = field(default_factory=dict)  # number -> the pause before its next start
    restart_at: dict[int, float] = field(default_factory=dict)  # number -> when to start it again

    def start(self, number: int) -> None:
        fds = (self.sock.fileno(), self.status_write, self.lifeline_read)
        command = [sys.executable, "-m", "emulator.workers", str(number), *map(str, fds), "--", *self.arguments]
        # Its own process group: a Ctrl-C in a terminal reaches the parent only, which passes it on once.
        process = subprocess.Popen(command, pass_fds=fds, process_group=0)
        self.children[number] = _Child(number, process, time.monotonic())

    def signal_all(self, signum: int) -> None:
        for child in self.children.values():
            if child.process.poll() is None:
                try:
                    child.process.send_signal(signum)
                except ProcessLookupError:
                    pass


def _exit_description(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exited with status {returncode}"


def _preflight(settings: Settings) -> str | None:
    """What would stop every worker at start, said once: the fixtures, the shared world."""
    from .cli import _shown_store
    from .core.errors import FixtureError
    from .shared.redis_log import open_world
    from .shared.setup import identity_of
    from .world.fixtures import load_fixtures

    if settings.store is None:
        return (f"--workers {settings.workers} needs --store redis://HOST:PORT/DB: each worker keeps its world in "
                "its own memory otherwise, and each request would see a different world")
    if settings.proxy_port is not None:
        return "--proxy and --workers do not go together: run the proxy with a single process"
    try:
        load_fixtures(settings.fixtures)
    except FixtureError as exc:
        return exc.message
    try:
        open_world(settings.store, identity_of(settings))  # the first process of a world writes its identity
    except Exception as exc:
        return f"cannot join the world in {_shown_store(settings.store)}: {' '.join(str(exc).split())}"
    return None


def serve_workers(settings: Settings, arguments: Sequence[str]) -> int:
    """Serve with `settings.workers` processes until a signal says stop; returns the exit status."""
    from .cli import announce, base_url, listening_socket

    problem = _preflight(settings)
    if problem is not None:
        print(f"telco-emulator: {problem}", file=sys.stderr)
        return 2
    sock = listening_socket(settings)
    if sock is None:
        return 2
    sock.listen(2048)  # connections wait in the backlog while workers start or are started again
    status_read, status_write = os.pipe()
    lifeline_read, lifeline_write = os.pipe()  # the parent alone holds the writing end
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    requests: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        requests.append(signum)

    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda signum, frame: None)  # wakes the loop
    previous_wakeup = signal.set_wakeup_fd(wake_write)
    supervisor = _Supervisor(settings, list(arguments), sock, status_read, status_write, lifeline_read)
    try:
        for number in range(1, settings.workers + 1):
            supervisor.start(number)
        return _supervise(supervisor, requests, wake_read, lambda: announce(base_url(sock), settings, f"{settings.workers} workers"))
    finally:
        signal.set_wakeup_fd(previous_wakeup)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for fd in (status_read, status_write, lifeline_read, lifeline_write, wake_read, wake_write):
            os.close(fd)
        sock.close()


def _supervise(supervisor: _Supervisor, requests: list[int], wake_read: int, announce: Callable[[], None]) -> int:
    """The parent's loop: note the workers that say they are ready, announce once all are, start
    again those that die, and stop them all at a signal. Returns the parent's exit status."""
    settings = supervisor.settings
    announced = False
    pending = b""
    while True:
        now = time.monotonic()
        timeout = min((at - now for at in supervisor.restart_at.values()), default=None)
        readable, _, _ = select.select([supervisor.status_read, wake_read], [], [], None if timeout is None else max(0.0, timeout))
        if wake_read in readable:
            os.read(wake_read, 512)
        if supervisor.status_read in readable:
            pending += os.read(supervisor.status_read, 4096)
            *lines, pending = pending.split(b"\n")
            for line in lines:
                words = line.split()
                if len(words) == 3 and words[0] == b"ready":
                    child = supervisor.children.get(int(words[1]))
                    if child is not None and child.process.pid == int(words[2]):
                        child.ready = True
        if requests:
            if announced:
                _log("stopping the workers")
            if not _stop(supervisor, requests):
                _log("killed the workers that had not stopped")
            return 0
        for number, child in list(supervisor.children.items()):
            returncode = child.process.poll()
            if returncode is None:
                continue
            if not announced:
                _log(f"worker {number} {_exit_description(returncode)} before it was ready; stopping the others")
                _stop(supervisor, requests)
                return 1
            del supervisor.children[number]
            lived = time.monotonic() - child.started_at
            pause = 0.0
            if lived < SOON:
                pause = min(MAX_PAUSE, max(1.0, 2 * supervisor.pauses.get(number, 0.5)))
            supervisor.pauses[number] = pause
            supervisor.restart_at[number] = time.monotonic() + pause
            when = "now" if pause == 0 else f"in {pause:g} s"
            _log(f"worker {number} (pid {child.process.pid}) {_exit_description(returncode)}; starting another {when}")
        for number, at in list(supervisor.restart_at.items()):
            if at <= time.monotonic():
                del supervisor.restart_at[number]
                supervisor.start(number)
        if not announced and len(supervisor.children) == settings.workers and all(c.ready for c in supervisor.children.values()):
            announced = True
            announce()


def _stop(supervisor: _Supervisor, requests: list[int]) -> bool:
    """Stop every worker: SIGTERM, then SIGKILL at a second signal or after STOP_GRACE."""
    seen = len(requests)
    supervisor.signal_all(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE
    clean = True
    for child in supervisor.children.values():
        while child.process.poll() is None:
            if len(requests) > seen or time.monotonic() > deadline:
                clean = False
                supervisor.signal_all(signal.SIGKILL)
            try:
                child.process.wait(0.1)
            except subprocess.TimeoutExpired:
                pass
    return clean


def _log(text: str) -> None:
    print(f"telco-emulator: {text}", file=sys.stderr, flush=True)


# -- a worker -------------------------------------------------------------------------------------
class Worker:
    """One of the workers, as `cli.serve` sees it: it names itself in every answer, tells the
    parent when it is ready, and stops when the parent is gone."""

    def __init__(self, number: int, status_fd: int, lifeline_fd: int) -> None:
        self.number = number
        self.status_fd = status_fd
        self.lifeline_fd = lifeline_fd
        self.header = (WORKER_HEADER, str(os.getpid()).encode())

    def wrap(self, app: Any) -> Any:
        header = self.header

        async def named(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def send_named(message: Any) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", ()), header]}
                await send(message)

            await app(scope, receive, send_named)

        return named

    def started(self, server: Any) -> None:
        import asyncio

        loop = asyncio.get_running_loop()

        def parent_gone() -> None:
            try:
                if os.read(self.lifeline_fd, 1):
                    return
            except BlockingIOError:
                return
            loop.remove_reader(self.lifeline_fd)
            server.should_exit = True

        os.set_blocking(self.lifeline_fd, False)
        loop.add_reader(self.lifeline_fd, parent_gone)
        os.write(self.status_fd, f"ready {self.number} {os.getpid()}\n".encode())


def worker_main(argv: Sequence[str]) -> int:
    """`python -m emulator.workers NUMBER SOCKET_FD STATUS_FD LIFELINE_FD -- ARGUMENTS...`: one
    worker, started by `serve_workers` with the parent's command-line arguments."""
    from .cli import parse_settings, serve

    number, sock_fd, status_fd, lifeline_fd = (int(word) for word in argv[:4])
    assert argv[4] == "--"
    settings = parse_settings(list(argv[5:]))
    sock = socket.socket(fileno=sock_fd)
    return serve(settings, sock=sock, worker=Worker(number, status_fd, lifeline_fd))


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
