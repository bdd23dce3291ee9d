"""Command line: flags and `TELCO_EMULATOR_*` environment variables -> Settings -> uvicorn.

Every flag has an environment variable (`--port` / `TELCO_EMULATOR_PORT`); a flag wins over its
variable. Problems with flags or the fixture file end the program with a one-line message and a
non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import errno
import gc
import os
import re
import socket
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Sequence

from . import __version__
from .core.clock import TimeOutOfRange, check_time, micros_of
from .core.errors import FixtureError
from .settings import CLOCKS, DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_BODY_SIZE, LOG_LEVELS, Settings

if TYPE_CHECKING:
    from .workers import Worker

__all__ = ["main", "parse_settings", "serve"]

ENV_PREFIX = "TELCO_EMULATOR_"
COMMANDS = ("replay",)  # words that may come first; anything else is a flag of the server
USAGE = (
    "%(prog)s [--port PORT] [--clock {real,virtual}] [--fixtures FILE] [--state FILE] [OPTION...]\n"
    "       %(prog)s replay SCENARIO.yaml... [--target URL --reset] [--webhook-target URL] [--junit PATH]"
)


class _UsageError(Exception):
    pass


def _env(name: str, default):
    return os.environ.get(ENV_PREFIX + name, default)


def _timestamp(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 time like 2026-01-01T00:00:00Z, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return check_time(micros_of(moment), "the clock's start")
    except TimeOutOfRange as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {text!r}") from None


_SIZE_UNITS = {"": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3}


def _size(text: str) -> int:
    """A number of bytes: `8388608`, `8MiB`, `5MB`, `512k`."""
    stripped = str(text).strip().lower()
    digits = stripped.rstrip("abgikm ")
    unit = stripped[len(digits):].strip()
    if not (digits.isascii() and digits.isdigit()) or unit not in _SIZE_UNITS:
        raise ValueError(f"--max-body-size expects a number of bytes such as 8388608 or 8MiB, got {text!r}")
    return int(digits) * _SIZE_UNITS[unit]


def _hosts(text: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="telco-emulator",
        usage=USAGE,
        description="A local emulator of the 46elks (/a1) and seven.io (/api) telephony APIs.",
        epilog="To run scenario files instead: telco-emulator replay FILE... (see telco-emulator replay --help).",
    )
    parser.add_argument("--host", default=_env("HOST", "127.0.0.1"), help="address to bind (env TELCO_EMULATOR_HOST; default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=_env("PORT", "8046"), help="port to listen on, 0 for any free port (env TELCO_EMULATOR_PORT; default 8046)")
    parser.add_argument("--fixtures", metavar="FILE", default=_env("FIXTURES", None), help="YAML fixture file replacing (or extending, with `extends: default`) the embedded default (env TELCO_EMULATOR_FIXTURES; default: the embedded fixtures/default.yaml)")
    parser.add_argument("--seed", type=int, default=_env("SEED", "46"), help="seed of every random choice: ids, outcomes (env TELCO_EMULATOR_SEED; default 46)")
    parser.add_argument("--clock", choices=CLOCKS, default=_env("CLOCK", "real"), help="real, or virtual: time moves only through POST /_emulator/clock/advance (env TELCO_EMULATOR_CLOCK; default real)")
    parser.add_argument("--clock-start", type=_timestamp, default=_env("CLOCK_START", None), help="start time of the virtual clock, ISO 8601 (env TELCO_EMULATOR_CLOCK_START; default now)")
    parser.add_argument("--time-scale", type=float, default=_env("TIME_SCALE", "1"), help="divide every simulated delay (delivery reports, webhook retries) by this (env TELCO_EMULATOR_TIME_SCALE; default 1)")
    parser.add_argument("--log-level", choices=LOG_LEVELS, type=str.lower, default=_env("LOG_LEVEL", "info"), help="how much to log; debug adds a line per request and uvicorn's own start-up and shutdown lines (env TELCO_EMULATOR_LOG_LEVEL; default info)")
    parser.add_argument("--proxy", metavar="PORT", default=_env("PROXY", None), help="also run an HTTP proxy on this port (0: any free port) that answers HTTPS requests for api.46elks.com and gateway.seven.io itself (env TELCO_EMULATOR_PROXY; default off)")
    parser.add_argument("--workers", metavar="N", type=int, default=_env("WORKERS", "1"), help="serve with N processes on one port, sharing one world: needs --store redis://... (env TELCO_EMULATOR_WORKERS; default 1)")
    parser.add_argument("--store", metavar="URL", default=_env("STORE", None), help="where the world lives: memory, or redis://HOST:PORT/DB to share one world with every emulator process pointed at the same database (env TELCO_EMULATOR_STORE; default memory)")
    parser.add_argument("--state", metavar="FILE", default=_env("STATE", None), help="load the state from this snapshot file at start (when it exists) and save it there at shutdown and every --autosave seconds (env TELCO_EMULATOR_STATE; default none: the state lives in memory only)")
    parser.add_argument("--autosave", metavar="SECONDS", type=float, default=_env("AUTOSAVE", "5"), help="with --state, also save the state every SECONDS while it changes, so that a process killed without warning loses at most that; 0: only at shutdown (env TELCO_EMULATOR_AUTOSAVE; default 5)")
    parser.add_argument("--proxy-ca-dir", metavar="DIR", default=_env("PROXY_CA_DIR", None), help="where the proxy keeps its local CA, created at first start (env TELCO_EMULATOR_PROXY_CA_DIR; default ~/.cache/telco-emulator/ca)")
    parser.add_argument("--allowed-hosts", metavar="NAMES", default=_env("ALLOWED_HOSTS", None), help="comma-separated Host names the control API and the inbox answer besides localhost and IP addresses: name, .domain (with its subdomains), or * for any (env TELCO_EMULATOR_ALLOWED_HOSTS; default none: only localhost names and IP addresses)")
    parser.add_argument("--control-token", metavar="TOKEN", default=_env("CONTROL_TOKEN", None), help="require this token for the control API and the inbox: Authorization: Bearer TOKEN or X-Telco-Emulator-Token; a browser opens /_emulator/ui?token=TOKEN once (env TELCO_EMULATOR_CONTROL_TOKEN; default none)")
    parser.add_argument("--max-body-size", metavar="BYTES", default=_env("MAX_BODY_SIZE", str(DEFAULT_MAX_BODY_SIZE)), help="largest request body accepted, e.g. 8MiB; larger ones are answered 413 unread (env TELCO_EMULATOR_MAX_BODY_SIZE; default 8MiB)")
    parser.add_argument("--header-timeout", metavar="SECONDS", type=float, default=_env("HEADER_TIMEOUT", str(DEFAULT_HEADER_TIMEOUT)), help="close a connection whose request headers take longer than this to arrive (env TELCO_EMULATOR_HEADER_TIMEOUT; default 10)")
    parser.add_argument("--version", action="version", version=f"telco-emulator {__version__}")
    return parser


def _unknown_arguments(parser: argparse.ArgumentParser, unknown: list[str]) -> str:
    """argparse's complaint about arguments it does not know, with the nearest flag when one is
    close (`--prot` -> `--port`)."""
    message = f"unrecognized arguments: {' '.join(unknown)}"
    first = unknown[0].split("=", 1)[0]
    if first.startswith("--"):
        flags = [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]
        close = difflib.get_close_matches(first, flags, n=1, cutoff=0.7)
        if close:
            message += f"; did you mean {close[0]}?"
    return message


def _unknown_command(word: str) -> str:
    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
    if close:
        return f"telco-emulator: unknown command {word!r}; did you mean {close[0]!r}? (see telco-emulator --help)"
    return f"telco-emulator: unknown command {word!r}: the only command is 'replay'; the server itself takes only --flags (see telco-emulator --help)"


def parse_settings(argv: Sequence[str] | None = None) -> Settings:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(_unknown_arguments(parser, unknown))
    try:
        port = int(args.port)
        seed = int(args.seed)
        scale = float(args.time_scale)
        start = _timestamp(args.clock_start) if isinstance(args.clock_start, str) else args.clock_start
        if args.proxy not in (None, "") and not (str(args.proxy).isascii() and str(args.proxy).isdigit()):
            raise ValueError(f"--proxy expects a port number, got {args.proxy!r}")
        proxy_port = None if args.proxy in (None, "") else int(args.proxy)
        return Settings(
            host=args.host, port=port, fixtures=args.fixtures, seed=seed, clock=args.clock,
            time_scale=scale, clock_start=start, log_level=args.log_level,
            proxy_port=proxy_port, proxy_ca_dir=args.proxy_ca_dir or None, state=args.state or None,
            store=None if args.store in (None, "", "memory") else args.store,
            autosave=float(args.autosave),
            allowed_hosts=_hosts(args.allowed_hosts), control_token=args.control_token or None,
            max_body_size=_size(args.max_body_size), header_timeout=float(args.header_timeout),
            workers=int(args.workers),
        )
    except (ValueError, argparse.ArgumentTypeError) as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


REPLAY_DESCRIPTION = """\
Run scenario files against an emulator and report, step by step, what passed.

Without --target, replay starts its own emulator as a child process, on a virtual clock, and
stops it afterwards: nothing else is touched. With --target URL it runs against an emulator that
is already running, and changes that emulator's state: the steps send messages, take money and
move its clock, and a scenario with `reset: true` (the default) first resets it, wiping every
message, call and balance back to its fixtures. Replay refuses to do that unless --reset is given
(or the scenario says `reset: false`). Before any step runs, replay checks that the emulator
answers, takes the control token, runs a virtual clock if a scenario has `advance` steps, and
knows the accounts the steps use and the numbers their inbound traffic goes to; a problem stops
it with exit status 2, having changed nothing."""

REPLAY_EPILOG = """\
exit status:
  0  every scenario passed
  1  a scenario failed (the report names the step and why; later steps are skipped)
  2  nothing was run: a scenario file is invalid, or the emulator cannot be used as it is
     (unreachable, wrong control token, would be reset without --reset, lacks what a scenario needs)"""


def _replay_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="telco-emulator replay", description=REPLAY_DESCRIPTION, epilog=REPLAY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="SCENARIO.yaml", help="scenario files (format: specs/scenario.schema.json)")
    parser.add_argument("--target", metavar="URL", help="URL of a running emulator to run against, whose state the run changes (default: none, an emulator started as a child process on a virtual clock)")
    parser.add_argument("--reset", action="store_true", help="allow scenarios with `reset: true` to reset the --target emulator (default: off, such scenarios are refused before anything runs)")
    parser.add_argument("--webhook-target", metavar="URL", help="base URL that `deliver_webhook` steps are sent to instead of the host recorded in the scenario (default: the recorded URLs)")
    parser.add_argument("--junit", metavar="PATH", help="also write the results as JUnit XML (default: none)")
    parser.add_argument("--fixtures", metavar="FILE", default=_env("FIXTURES", None), help="fixture file of the emulator replay starts (env TELCO_EMULATOR_FIXTURES; default: the embedded fixtures/default.yaml)")
    parser.add_argument("--seed", type=int, default=int(_env("SEED", "46")), help="seed of the emulator replay starts (env TELCO_EMULATOR_SEED; default 46)")
    parser.add_argument("--control-token", metavar="TOKEN", default=_env("CONTROL_TOKEN", None), help="control token of the --target emulator (env TELCO_EMULATOR_CONTROL_TOKEN; default none)")
    return parser


def replay_main(argv: Sequence[str]) -> int:
    """`telco-emulator replay SCENARIO.yaml... [--target URL [--reset]]`: run scenarios and
    report; the exit status says how it went (see REPLAY_EPILOG)."""
    parser = _replay_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        parser.error(_unknown_arguments(parser, unknown))

    from .scenarios import Runner, ScenarioError, junit_xml, load_scenario, text_report
    from .scenarios.preflight import check_target

    try:
        scenarios = [load_scenario(path) for path in args.files]
    except ScenarioError as exc:
        reason = " ".join(str(exc).split())  # one line, whatever the problem's text holds
        print(f"telco-emulator replay: {reason}", file=sys.stderr)
        return 2
    server = None
    if args.target:
        base_url = args.target
    else:
        from .child import ChildServer
        from .world.fixtures import load_fixtures

        try:
            load_fixtures(args.fixtures)
        except FixtureError as exc:
            print(f"telco-emulator replay: {exc.message}", file=sys.stderr)
            return 2
        server = ChildServer("virtual", args.fixtures, args.seed)  # its own process: the command line's GC policy, no lock contention
        server.start()
        base_url = server.url
    runner = Runner(base_url, webhook_target=args.webhook_target, control_token=args.control_token if args.target else None)
    try:
        problems = check_target(runner.client, scenarios, target=args.target, may_reset=args.reset)
        if problems:
            for problem in problems:
                print(f"telco-emulator replay: {' '.join(problem.split())}", file=sys.stderr)
            return 2
        results = [runner.run(scenario) for scenario in scenarios]
    finally:
        runner.close()
        if server is not None:
            server.stop()
    print(text_report(results))
    if args.junit:
        with open(args.junit, "w", encoding="utf-8") as handle:
            handle.write(junit_xml(results))
    return 0 if all(result.passed for result in results) else 1


def _freeze_survivors(phase: str, info: dict) -> None:
    """After each collection, set aside (`gc.freeze`) what survived it: nearly all of it is the
    store's records, which live as long as the run. The collector then only ever walks objects
    younger than its last run, instead of older generations that grow with the store (pauses of
    about 200 ms at a few hundred thousand messages; with this, about 5 ms). The price: an object
    that joins a garbage cycle after surviving a collection is never freed by the collector (see
    FrozenGarbage). Measured, the API makes almost no cyclic garbage (about 20 objects over 800
    requests of every kind and a reset), but a storm of waits and event streams that end does:
    about 30,000 objects for 500 streams.
    """
    global _freezes
    if phase == "stop":
        gc.freeze()
        _freezes += 1


_freezes = 0  # how many times _freeze_survivors has frozen: FrozenGarbage counts only after one


YOUNG_GENERATION = 1_000  # allocations between two collections of the youngest generation


def tune_collector() -> None:
    """The collector as the server runs it. The store keeps every record for the whole run, and
    the collector would walk all of them over and over: freeze what exists once the app is built
    and whatever survives a collection (see _freeze_survivors), so that a collection walks only
    what was made since the last one. That makes a pause as long as the youngest generation is
    large, and every request in flight waits for it: at 20,000 a pause took 2.5-3 ms once every
    1,500 sends or so (the p99 of a load of 16 connections). Under a load of seven.io sends at 16
    connections, pauses took 0.64 ms at the median (p99 1.5 ms) at 2,000 and 0.20 ms (p99 0.55)
    at 1,000, for less time spent collecting in all (a young generation that fits the
    processor's cache is walked faster); at 500, 0.10 ms for the same total."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION, 50, 100)
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)


class FrozenGarbage:
    """Frees, after a global reset, the garbage cycles that `_freeze_survivors` set aside.

    A reset drops the store, so what stays frozen after it should be about what was frozen
    after the previous reset (or at start). When it has grown by more than `slack` objects,
    the rest is cycles that outlived a collection (the tasks and frames of waits and streams
    that were open during one): unfreeze, collect and freeze again. That full collection walks
    only what a reset leaves (tens of milliseconds), and only when there is something to free,
    so the usual reset before each test costs nothing more. Counting the frozen objects walks
    them all (some 7 ms in a served emulator), so it is done only when something was frozen
    since the last count: a test suite's resets, with few allocations between them, mostly skip it.
    """

    def __init__(self, slack: int = 20_000) -> None:
        self.slack = slack
        self.baseline = gc.get_freeze_count()
        self.collections = 0
        self.counted_after = _freezes

    def after_reset(self) -> None:
        if self.counted_after == _freezes:
            return  # nothing frozen since the last count: the count is what it was
        self.counted_after = _freezes
        if gc.get_freeze_count() > self.baseline + self.slack:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self.collections += 1
            self.baseline = gc.get_freeze_count()
            self.counted_after = _freezes


def _shown_store(url: str) -> str:
    """A store URL without its password."""
    return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)


def _world_summary(settings: Settings) -> str:
    """What the ready line says about the world being served: the clock, the fixtures, the state file."""
    clock = f"{settings.clock} clock" + (f" at {settings.time_scale:g}x speed" if settings.time_scale != 1 else "")
    parts = [clock, f"fixtures {settings.fixtures}" if settings.fixtures else "the default fixtures"]
    if settings.store:
        parts.append(f"shared world in {_shown_store(settings.store)}")
    if settings.state:
        parts.append(f"state {settings.state}" + (f" (saved every {settings.autosave:g} s)" if settings.autosave > 0 else " (saved at shutdown)"))
    return ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["replay"]:
        return replay_main(arguments[1:])
    if arguments and not arguments[0].startswith("-"):
        print(_unknown_command(arguments[0]), file=sys.stderr)
        return 2
    settings = parse_settings(arguments)
    if settings.workers > 1:
        from .workers import serve_workers

        return serve_workers(settings, arguments)
    return serve(settings)


def listening_socket(settings: Settings) -> socket.socket | None:
    """The socket the server listens on, bound to `--host` and `--port`; None, with a one-line
    message, when it cannot be bound."""
    try:
        # IPPROTO_TCP explicitly: asyncio turns on TCP_NODELAY only for sockets that say so, and
        # without it every keep-alive response waits for a delayed ACK.
        sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = "; another process listens there: stop it, or pass --port 0 for any free port (the ready line says which)"
        print(f"telco-emulator: cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}{hint}", file=sys.stderr)
        return None
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    return f"http://{shown_host}:{port}"


def announce(url: str, settings: Settings, serving: str = "") -> None:
    """The ready line (with `serving`, e.g. "3 workers", before the world's summary) and, when the
    control API is open beyond this machine without a token, the warning."""
    summary = ", ".join(part for part in (serving, _world_summary(settings)) if part)
    print(f"telco-emulator {__version__} ready on {url} (46elks {url}/a1, seven.io {url}/api, control {url}/_emulator); {summary}", flush=True)
    from .http.exposure import is_loopback_host

    if not is_loopback_host(settings.host) and settings.control_token is None:
        print(
            f"telco-emulator: warning: listening on {settings.host}, beyond this machine, and the control API "
            "(every credential, reset, snapshot) has no token: anyone who reaches this port controls the emulator. "
            "Set --control-token (or TELCO_EMULATOR_CONTROL_TOKEN), or bind 127.0.0.1.",
            file=sys.stderr, flush=True,
        )


def serve(settings: Settings, sock: socket.socket | None = None, worker: "Worker | None" = None) -> int:
    """Build the world and serve it until a signal says stop; returns the exit status. Alone, it
    binds its socket and prints the ready line; as one of `--workers` (`emulator/workers.py`), it
    serves the socket its parent bound and tells `worker` when it is ready instead."""
    from .app import build_engine, create_app

    try:
        engine = build_engine(settings)
    except FixtureError as exc:
        print(f"telco-emulator: {exc.message}", file=sys.stderr)
        return 2
    except Exception as exc:  # a shared world that cannot be joined: Redis unreachable, other settings
        if not settings.store:
            raise
        print(f"telco-emulator: cannot join the world in {_shown_store(settings.store)}: {exc}", file=sys.stderr)
        return 2
    app = create_app(settings, engine=engine)  # first: the app adds what a snapshot restores (sandboxes)
    if settings.state:
        from .core.snapshot import SnapshotError
        from .world.state import load_state_file

        try:
            load_state_file(engine, settings.state)
        except SnapshotError as exc:
            reason = " ".join(str(exc).split())  # one line, whatever the problem's text holds
            print(f"telco-emulator: {settings.state}: cannot load the state: {reason}", file=sys.stderr)
            return 2
    from .http.server import emulator_server, uvicorn_config

    if sock is None:
        sock = listening_socket(settings)
        if sock is None:
            return 2
    host, port = sock.getsockname()[:2]
    engine.outbox.listening_on(host, port)  # so that no webhook is sent to its own control API
    proxy = None
    if settings.proxy_port is not None:
        from .proxy.transparent import ProxySetupError, prepare_proxy

        try:
            proxy = prepare_proxy(settings.host, settings.proxy_port, settings.proxy_ca_dir)
        except ProxySetupError as exc:
            print(f"telco-emulator: {exc}", file=sys.stderr)
            return 2
    autosaver = None
    served = app
    if settings.state and settings.autosave > 0:
        from .world.state import Autosaver, ChangeCounter

        served = counter = ChangeCounter(app)
        autosaver = Autosaver(engine, settings.state, settings.autosave, changes=lambda: counter.count)
    if worker is not None:
        served = worker.wrap(served)
    config = uvicorn_config(served, settings)
    server = emulator_server(config, engine, before_shutdown=[autosaver.stop] if autosaver is not None else [])
    url = base_url(sock)

    tune_collector()
    engine.reset_listeners.append(FrozenGarbage().after_reset)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.01)
        proxy_server = None
        if server.started and autosaver is not None:
            autosaver.start()
        if server.started and proxy is not None:
            proxy_server = await proxy.start(served, max_body_size=settings.max_body_size, header_timeout=settings.header_timeout)
        if server.started:
            if worker is not None:
                worker.started(server)
            else:
                announce(url, settings)
            if proxy is not None:
                print(f"proxy on {proxy.url}, CA bundle {proxy.bundle_path}", flush=True)
        try:
            await task
        finally:
            if proxy_server is not None:
                proxy_server.close()

    try:
        with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
            runner.run(serve())
    except KeyboardInterrupt:
        pass
    return 0 if server.started else 1
