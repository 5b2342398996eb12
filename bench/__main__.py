"""Run every benchmark section and write bench/RESULTS.md with the machine's description."""

from __future__ import annotations

import importlib
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

# Each module exposes run() -> str: a Markdown section with its own measured figures.
SECTIONS = [
    "bench.render",
    "bench.cache",
    "bench.policy",
    "bench.diff",
    "bench.promote",
    "bench.engine",
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
    parts = [
        "# Benchmark results",
        "",
        f"Written by `make bench` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Machine: {machine()}.",
        "",
    ]
    for name in SECTIONS:
        if only and name.split(".")[-1] not in only:
            continue
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        parts.append(importlib.import_module(name).run())
    out = Path(__file__).parent / "RESULTS.md"
    out.write_text("\n".join(parts) + "\n")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
