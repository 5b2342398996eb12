"""Render-cache ratios (issue 14's targets), all measured in this one run.

- *warm / cold*: `plan` of the four AWS stages with the cache filled, over the same with an
  empty cache (target at most 0.3);
- *cold / (import floor + one stage)*: the cold plan over `python -c "import pulumi,
  pipeline.warm"` plus one stage's cold plan minus that floor (target at most 1.3).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
RUNS = 3
AWS = ["--stack", "dev", "--stack", "test", "--stack", "staging", "--stack", "live"]


def _seconds(*command: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=PROJECT, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def _plan(cache: Path, *stacks: str, fresh: bool) -> float:
    """Median seconds of a plan; ``fresh`` empties the cache before each run."""
    times = []
    for _ in range(RUNS):
        if fresh:
            subprocess.run(["rm", "-rf", str(cache)], check=True)
        times.append(
            _seconds(sys.executable, "-m", "pipeline", "plan", "--cache-dir", str(cache), *stacks)
        )
    return statistics.median(times)


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="stageline-bench-cache-") as tmp:
        cache = Path(tmp) / "cache"
        floor = statistics.median(
            _seconds(sys.executable, "-c", "import pulumi, pipeline.warm") for _ in range(RUNS)
        )
        one = _plan(cache, "--stack", "dev", fresh=True)
        cold = _plan(cache, *AWS, fresh=True)
        warm = _plan(cache, *AWS, fresh=False)  # the last cold run filled the cache
    stage = max(one - floor, 0.0)
    return "\n".join(
        [
            "## Render cache",
            "",
            f"Median of {RUNS} runs each, in new processes (policy pack included).",
            "",
            "| measure | seconds |",
            "|---|---|",
            f"| import floor (`import pulumi, pipeline.warm`) | {floor:.2f} |",
            f"| `plan --stack dev`, empty cache | {one:.2f} |",
            f"| `plan` of four AWS stages, empty cache (cold) | {cold:.2f} |",
            f"| `plan` of four AWS stages, cache filled (warm) | {warm:.2f} |",
            "",
            "| ratio | measured | target |",
            "|---|---|---|",
            f"| warm / cold | {warm / cold:.2f} | at most 0.3 |",
            f"| cold / (floor + one stage) | {cold / (floor + stage):.2f} | at most 1.3 |",
            "",
        ]
    )
