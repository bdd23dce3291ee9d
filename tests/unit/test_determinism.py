"""The world is deterministic: the same requests in the same order give the same world. A shared
world (emulator/shared/) depends on it, since every process applies every request to its own copy.
So nothing in the emulator reads the wall clock or draws an unseeded random number, except the
places listed here, each for a reason that keeps the world itself out of it."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "emulator"

# module -> the functions of it that are the wall clock or unseeded chance
FORBIDDEN = {
    "time": {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns", "localtime", "gmtime"},
    "datetime": {"now", "utcnow", "today"},
    "random": {"random", "choice", "choices", "randint", "randrange", "getrandbits", "shuffle", "sample", "uniform"},
    "os": {"urandom", "getrandom"},
    "uuid": {"uuid1", "uuid4"},
    "secrets": {"token_hex", "token_bytes", "token_urlsafe", "choice", "randbelow", "randbits"},
}

ALLOWED = {
    "core/clock.py": "the clock itself: everything else asks it",
    "shared/clock.py": "the wall time of the process that appends an entry (and of the first process of a world: the clock's start)",
    "shared/replica.py": "a process's own name, and the wall time of the entries it appends",
    "core/webhooks.py": "an attempt's latency, measured by the process that makes it and carried in the log",
    "http/mounts.py": "a request's duration in the journal, for people to read",
    "background.py": "waiting for a server thread to start",
    "workers.py": "the parent of --workers times its workers' restarts; it holds no world",
    "scenarios/runner.py": "how long a scenario's step took, for its report",
}


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported: dict[str, str] = {}  # local name -> module, for `from time import perf_counter`
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in FORBIDDEN:
            for alias in node.names:
                if alias.name in FORBIDDEN[node.module]:
                    imported[alias.asname or alias.name] = node.module
    found = []
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)):
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else None
            if name in FORBIDDEN and func.attr in FORBIDDEN[name]:
                found.append(f"{name}.{func.attr}() at line {node.lineno}")
        elif isinstance(func, ast.Name) and func.id in imported:
            found.append(f"{imported[func.id]}.{func.id}() at line {node.lineno}")
    return found


def test_only_the_listed_places_read_the_wall_clock_or_draw_unseeded_chance():
    offences = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        found = _offences(path)
        if found and relative not in ALLOWED:
            offences[relative] = found
    assert offences == {}, f"read the time from engine.clock and draw from a seeded generator instead: {offences}"
    stale = [relative for relative in ALLOWED if not _offences(PACKAGE / relative)]
    assert stale == [], f"listed as reading the wall clock, but no longer do: {stale}"


def test_the_check_finds_what_it_looks_for(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import time, random\nfrom datetime import datetime\nfrom time import perf_counter as pc\n"
                      "a = time.time()\nb = random.choice([1])\nc = datetime.now()\nd = pc()\ne = random.Random(1).random()\n")
    assert _offences(sample) == ["time.time() at line 4", "random.choice() at line 5", "datetime.now() at line 6", "time.pc() at line 7"]
