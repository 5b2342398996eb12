"""Diff benchmark: ``pipeline diff`` over the four AWS stages between two commits, against one
``pipeline plan`` of the same stages. Target: a diff costs at most twice a plan.

Both are the whole CLI in a new process, as CI runs it. The diff checks both commits out in
temporary worktrees and renders each with its own code, both at once; the two commits here are
the same (HEAD), so the figure is the cost of the machinery, not of a large change.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
STAGES = ["dev", "test", "staging", "live"]
RUNS = 3
TARGET = 2.0


def _seconds(*args: str) -> float:
    stacks = [arg for stack in STAGES for arg in ("--stack", stack)]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", *args, *stacks],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"pipeline {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return elapsed


def run() -> str:
    plans, diffs = [], []
    for _ in range(RUNS):  # interleaved, so a busy moment hits both alike
        plans.append(_seconds("plan", "--format", "json"))
        diffs.append(_seconds("diff", "--base", "HEAD", "--head", "HEAD", "--format", "json"))
    plan, diff = statistics.median(plans), statistics.median(diffs)
    ratio = diff / plan
    verdict = "meets" if ratio <= TARGET else "misses"
    return "\n".join(
        [
            "## diff",
            "",
            f"`pipeline diff` over {len(STAGES)} stages between two commits (each rendered in its"
            " own worktree with its own code, both at once) against one `pipeline plan` of the"
            f" same stages; median of {RUNS}, whole CLI in a new process.",
            "",
            "| command | median (s) | runs (s) |",
            "|---|---|---|",
            f"| plan | {plan:.2f} | {', '.join(f'{t:.2f}' for t in plans)} |",
            f"| diff | {diff:.2f} | {', '.join(f'{t:.2f}' for t in diffs)} |",
            "",
            f"diff / plan = **{ratio:.2f}x**, which {verdict} the target of at most {TARGET:.0f}x.",
            "",
        ]
    )
