"""Run every benchmark section and append them to bench/RESULTS.md, with the date and machine.

``python -m bench ratios`` (or any section names) runs only those sections.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

# Each module exposes run() -> str: a Markdown section with its own measured figures.
SECTIONS = [
    "bench.ratios",
    "bench.render",
    "bench.policy",
    "bench.promote",
    "bench.engine",
    "bench.ledger",
    "bench.local_pipeline",
]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}"
    )


def main() -> int:
    only = sys.argv[1:]
    started = time.perf_counter()
    parts = [
        "",
        f"<!-- appended by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC -->",
        f"# Benchmark run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}.",
        "",
    ]
    for name in SECTIONS:
        if only and name.split(".")[-1] not in only:
            continue
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        section = time.perf_counter()
        try:
            parts.append(importlib.import_module(name).run())
        except Exception as exc:  # one broken section must not lose the others' figures
            parts += [f"## {name}", "", f"Did not run to the end: {type(exc).__name__}: {exc}", ""]
        print(f"bench: {name} took {time.perf_counter() - section:.0f} s", file=sys.stderr)
    parts.append(f"The whole run took {time.perf_counter() - started:.0f} s.\n")
    out = Path(__file__).parent / "RESULTS.md"
    text = "\n".join(parts) + "\n"
    with out.open("a", encoding="utf-8") as results:
        results.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
