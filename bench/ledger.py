"""The record at scale (issue 28): append, fresh-clone ``ledger verify``, ``status --offline``
and ``history --limit 20`` on records of 1,000, 10,000 and 50,000 entries.

The records are synthetic but in the real layout (bench/ledger_record.py builds them). What is
timed is the real code: ``GitState.append`` in a clone that has synced, and the CLI commands as
CI runs them (whole ``python -m pipeline`` runs, interpreter start included: the section says
how long the CLI alone takes to start), each in wall time and in CPU time of the process and its
children, since the machine is shared.
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.ledger_record import PROJECT_DIR, build, run_git
from pipeline.naming import temp_prefix
from pipeline.promote.entries import OtherEntry
from pipeline.record.layout import BLOCK
from pipeline.record.state import GitState

SIZES = (1_000, 10_000, 50_000)
ROUNDS = 3
APPEND_TARGET = 0.050  # seconds, at every size
VERIFY_TARGET = 10.0  # seconds, fresh clone at 50,000 entries
READ_TARGET = 1.0  # seconds, status --offline and history --limit 20 at every size
BYTES_TARGET = 8192  # "a few kilobytes" added to the remote per append


def _loose_bytes(remote: Path) -> int:
    objects = remote / "objects"
    return sum(f.stat().st_size for d in objects.iterdir() if len(d.name) == 2 for f in d.iterdir())


def appends(base: Path, remote: Path) -> list[tuple[float, float, int, bool]]:
    """Per append: wall and CPU seconds, bytes added to the remote (loose objects, before any
    repack) and whether it sealed a block; appends go on until one has sealed (at most 100)."""
    state = GitState(shutil.copytree(base / "writer", base / "appender", symlinks=True))
    run_git(base / "appender", "remote", "set-url", "origin", str(remote))
    state.sync()
    done: list[tuple[float, float, int, bool]] = []
    while not done or not done[-1][3]:
        before = _loose_bytes(remote)
        cpu, started = _cpu(), time.perf_counter()
        note = OtherEntry(extra={"step": "note", "detail": f"bench append {len(done)}"})
        entry = state.append(note)
        took, cpu = time.perf_counter() - started, _cpu() - cpu
        sealed = (entry.seq + 1) % BLOCK == 0
        done.append((took, cpu, _loose_bytes(remote) - before, sealed))
    return done


def _cpu() -> float:
    """CPU seconds of this process and of its waited-for children (git, the CLI): unlike wall
    time, barely moved by other work on the shared machine."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def cli(repo: Path, *args: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one ``python -m pipeline`` run, and what it printed."""
    cpu, started = _cpu(), time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, "--repo", str(repo)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "160"},
        check=False,
    )
    took, cpu = time.perf_counter() - started, _cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"pipeline {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return took, cpu, done.stdout


def measure(entries: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=temp_prefix("bench-ledger")) as tmp:
        base = Path(tmp)
        started = time.perf_counter()
        remote, count = build(base, entries)
        built = time.perf_counter() - started
        runs: dict[str, list[tuple[float, float]]] = {}
        clone_s = []
        for n in range(ROUNDS):
            fresh = base / f"fresh{n}"
            began = time.perf_counter()
            run_git(base, "clone", "-q", str(remote), str(fresh))
            clone_s.append(time.perf_counter() - began)
            took, cpu, out = cli(fresh, "ledger", "verify")
            if f"{count} entries" not in out:
                raise RuntimeError(f"ledger verify: {out!r}, expected {count} entries")
            runs.setdefault("verify", []).append((took, cpu))
            runs.setdefault("status", []).append(cli(fresh, "status", "--offline")[:2])
            took, cpu, out = cli(fresh, "history", "--limit", "20", "--json")
            shown = [json.loads(line) for line in out.splitlines() if line.strip()]
            if len([e for e in shown if e.get("event") == "entry"]) != 20:
                raise RuntimeError(f"history --limit 20 printed: {out[:300]!r}")
            runs.setdefault("history", []).append((took, cpu))
            other = base / f"cold{n}"
            run_git(base, "clone", "-q", str(remote), str(other))
            runs.setdefault("status_fresh", []).append(cli(other, "status", "--offline")[:2])
        timed = appends(base, remote)
        regular = [a for a in timed if not a[3]]
        row: dict[str, Any] = {
            "entries": count,
            "build": built,
            "clone": statistics.median(clone_s),
            "append": statistics.median(a[0] for a in timed),
            "append_cpu": statistics.median(a[1] for a in timed),
            "append_worst": max(a[0] for a in timed),
            "bytes": statistics.median(a[2] for a in regular),
            "bytes_worst": max(a[2] for a in regular),
            "appends": len(timed),
            "seal_ms": timed[-1][0] * 1000,
            "seal_bytes": timed[-1][2],
        }
        for key, pairs in runs.items():
            row[key] = statistics.median(wall for wall, _ in pairs)
            row[f"{key}_cpu"] = statistics.median(cpu for _, cpu in pairs)
        return row


def _startup() -> float:
    """The interpreter and CLI start alone: ``python -m pipeline --help``."""
    runs = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline", "--help"], cwd=PROJECT_DIR,
                       capture_output=True, check=True)  # fmt: skip
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def _growth(rows: list[dict[str, Any]], key: str) -> str:
    factors = [
        f"{b[key] / a[key]:.1f}x for {b['entries'] / a['entries']:.0f}x entries"
        for a, b in itertools.pairwise(rows)
        if a[key] > 0
    ]
    return ", ".join(factors)


def _cell(row: dict[str, Any], key: str) -> str:
    return f"{row[key]:.2f} [{row[key + '_cpu']:.2f}]"


def _verdicts(rows: list[dict[str, Any]]) -> dict[str, Callable[[str], bool]]:
    """Each target, as a test of the rows' wall (``""``) or CPU (``"_cpu"``) figures."""
    largest = rows[-1]["entries"]
    return {
        f"append at most {APPEND_TARGET * 1000:.0f} ms at every size (median)": lambda cpu: all(
            r["append" + cpu] <= APPEND_TARGET for r in rows
        ),
        f"fresh-clone verify at most {VERIFY_TARGET:.0f} s at {largest} entries and growing at"
        " most linearly": lambda cpu: (
            rows[-1]["verify" + cpu] <= VERIFY_TARGET
            and all(
                b["verify" + cpu] / a["verify" + cpu] <= b["entries"] / a["entries"]
                for a, b in itertools.pairwise(rows)
            )
        ),
        f"status --offline and history --limit 20 at most {READ_TARGET:.0f} s at every size"
        " (in a clone that has verified)": lambda cpu: all(
            max(r["status" + cpu], r["history" + cpu]) <= READ_TARGET for r in rows
        ),
        f"each append adds at most {BYTES_TARGET} bytes to the remote (median; bytes do not"
        " depend on the load)": lambda cpu: all(r["bytes"] <= BYTES_TARGET for r in rows),
    }


def _meets(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def run() -> str:
    load = [os.getloadavg()[0]]
    startup = _startup()
    rows = []
    for size in SIZES:
        print(f"bench: ledger of {size} entries ...", file=sys.stderr, flush=True)
        rows.append(measure(size))
        load.append(os.getloadavg()[0])
    lines = [
        "## The record at scale",
        "",
        "Synthetic records in the entry layout (bench/ledger.py: fast-import for all but the"
        " last promotion, then one promotion through `GitState.append`); CLI times are whole"
        f" `python -m pipeline` runs (the CLI alone starts in {startup:.2f} s), median of"
        f" {ROUNDS}; append is `GitState.append` with a push to the bare remote, appending"
        " until one seals a block (the appends column: how many), median [CPU] (worst); bytes are"
        " the loose objects an append adds to the remote, median (largest) of those that do"
        " not seal, then the sealing append's time and bytes (the 100 entries' segment)."
        " The machine is shared: its one-minute load average was "
        + ", ".join(f"{x:.1f}" for x in load)
        + " (before, then after each size); each cell is wall time with the CPU time of the"
        " process and its children in brackets, which the load moves far less.",
        "",
        "| entries | build s | clone s | ledger verify, fresh clone s | status --offline s"
        " | status --offline, fresh clone s | history --limit 20 s | appends | append ms"
        " | bytes per append | sealing append ms, bytes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['entries']} | {r['build']:.1f} | {r['clone']:.2f} | {_cell(r, 'verify')}"
            f" | {_cell(r, 'status')} | {_cell(r, 'status_fresh')} | {_cell(r, 'history')}"
            f" | {r['appends']} | {r['append'] * 1000:.0f} [{r['append_cpu'] * 1000:.0f}]"
            f" ({r['append_worst'] * 1000:.0f})"
            f" | {r['bytes']:.0f} ({r['bytes_worst']})"
            f" | {r['seal_ms']:.0f}, {r['seal_bytes']} |"
        )
    lines += ["", "Growth factors (wall; CPU in brackets):"]
    for key in ("verify", "status", "history", "append"):
        lines.append(f"- {key}: {_growth(rows, key)} [{_growth(rows, key + '_cpu')}]")
    lines += ["", "Targets, judged on wall time and, in brackets, on CPU time:"]
    for what, verdict in _verdicts(rows).items():
        lines.append(f"- {what}: {_meets(verdict(''))} [{_meets(verdict('_cpu'))}]")
    lines.append("")
    return "\n".join(lines)
