"""Issue 14's speed targets, as ratios measured in this one run on this machine.

1. *warm / cold*: ``plan`` of the four AWS stages with the render cache filled, over the same
   with an empty cache (target at most 0.3).
2. *cold / (floor + one render)*: that cold plan over the import floor (a new process running
   ``import pulumi, pipeline.warm``) plus one stage's render from a warm fork server, the cost
   no plan can avoid (target at most 1.3).
3. *diff / plan*: ``diff`` of the four stages whose base revision is unchanged (its plan cached
   by an earlier diff) and whose head changes a component's source, so every head stage renders
   afresh, over one ``plan --no-cache`` of the same working tree (target at most 1.2). Both run
   in a temporary clone of this checkout's HEAD; each run edits the component again, so no head
   render is ever served from the cache.
4. *policy ms per resource*: one whole-stage analysis through the harness (ConfigureStack,
   Configure, Analyze per resource, AnalyzeStack), warm pack, per resource (target at most 0.5).

Every figure is the median of RUNS runs in new processes (the policy figure: of POLICY_RUNS
analyses); plan and diff runs are interleaved so a busy moment hits both alike. The load average
is printed beside them: this machine is shared, and the ratios move with it.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.naming import cache_dir, temp_prefix

PROJECT = Path(__file__).resolve().parent.parent
AWS = ["dev", "test", "staging", "live"]
STACK_ARGS = [a for s in AWS for a in ("--stack", s)]
RUNS = 3
POLICY_RUNS = 5
# A component module whose comment the diff runs edit: it changes every stage's render key.
EDITED = Path("components") / "environment.py"


@dataclass(frozen=True)
class Ratio:
    name: str
    measured: float
    target: float
    how: str

    @property
    def meets(self) -> bool:
        return self.measured <= self.target

    def row(self) -> str:
        verdict = "meets" if self.meets else f"misses by {self.measured / self.target - 1:.0%}"
        return (
            f"| {self.name} | {self.measured:.2f} | at most {self.target:g} | {verdict} |"
            f" {self.how} |"
        )


def _seconds(cwd: Path, *command: str, ok: tuple[int, ...] = (0, 1)) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed


def _plan(cwd: Path, *args: str) -> float:
    return _seconds(cwd, sys.executable, "-m", "pipeline", "plan", *STACK_ARGS, *args)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _one_render() -> float:
    """One stage's render from a warm fork server (SDKs imported), in a new process."""
    script = (
        "import statistics, sys, time\n"
        f"sys.path.insert(0, {str(PROJECT)!r})\n"
        "from pathlib import Path\n"
        "from pipeline.render import render_stages\n"
        "from pipeline.stages import load_stages\n"
        "if __name__ == '__main__':\n"
        f"    project = Path({str(PROJECT)!r})\n"
        "    configs = load_stages(project / 'stacks', ['dev']).configs.values()\n"
        "    render_stages(project, configs)\n"
        "    times = []\n"
        f"    for _ in range({RUNS}):\n"
        "        start = time.perf_counter()\n"
        "        render_stages(project, configs)\n"
        "        times.append(time.perf_counter() - start)\n"
        "    print(statistics.median(times))\n"
    )
    with tempfile.TemporaryDirectory(prefix=temp_prefix("bench")) as tmp:
        path = Path(tmp) / "one_render.py"
        path.write_text(script)
        done = subprocess.run(
            [sys.executable, str(path)], cwd=PROJECT, capture_output=True, text=True, check=True
        )
    return float(done.stdout.split()[-1])


def _plan_ratios() -> tuple[list[Ratio], dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix=temp_prefix("bench-cache")) as tmp:
        cache = Path(tmp) / "cache"
        floor = _median(
            [
                _seconds(PROJECT, sys.executable, "-c", "import pulumi, pipeline.warm")
                for _ in range(RUNS)
            ]
        )
        colds, warms = [], []
        for _ in range(RUNS):
            shutil.rmtree(cache, ignore_errors=True)
            colds.append(_plan(PROJECT, "--format", "json", "--cache-dir", str(cache)))
            warms.append(_plan(PROJECT, "--format", "json", "--cache-dir", str(cache)))
    render = _one_render()
    # Context, not a target: the same cold plan of one stage (another reading of "one stage").
    one = _median(
        [_seconds(PROJECT, sys.executable, "-m", "pipeline", "plan", "--stack", "dev",
                  "--format", "json", "--no-cache") for _ in range(RUNS)]
    )  # fmt: skip
    cold, warm = _median(colds), _median(warms)
    figures = {"floor": floor, "render": render, "cold": cold, "warm": warm, "one": one}
    return [
        Ratio(
            "plan of four stages, warm / cold",
            warm / cold,
            0.3,
            f"{warm:.2f} s / {cold:.2f} s",
        ),
        Ratio(
            "cold plan / (import floor + one render)",
            cold / (floor + render),
            1.3,
            f"{cold:.2f} s / ({floor:.2f} s + {render:.2f} s)",
        ),
    ], figures


def _clone() -> Path:
    """A clone of HEAD in a temporary directory, with this checkout's virtualenv."""
    where = Path(tempfile.mkdtemp(prefix=temp_prefix("bench-diff")))
    subprocess.run(["git", "clone", "-q", str(PROJECT), str(where)], check=True)
    return where


def _edit(clone: Path, run: int) -> None:
    path = clone / EDITED
    text = path.read_text().split("\n# bench edit ")[0]
    path.write_text(f"{text}\n# bench edit {run}: a head change every stage renders afresh\n")


def _diff_ratio() -> tuple[Ratio, dict[str, float]]:
    clone = _clone()
    try:
        cache = cache_dir(clone)
        diff = [sys.executable, "-m", "pipeline", "diff", "--base", "HEAD", *STACK_ARGS]
        diff += ["--format", "json", "--cache-dir", str(cache)]
        _edit(clone, 0)
        _seconds(clone, *diff)  # the base's plan goes into the cache; the base stays unchanged
        plans, diffs = [], []
        for run in range(1, RUNS + 1):
            _edit(clone, run)
            plans.append(_plan(clone, "--format", "json", "--no-cache"))
            _edit(clone, run + 100)
            diffs.append(_seconds(clone, *diff))
    finally:
        shutil.rmtree(clone, ignore_errors=True)
    plan, took = _median(plans), _median(diffs)
    ratio = Ratio(
        "diff with an unchanged base / one plan",
        took / plan,
        1.2,
        f"{took:.2f} s / {plan:.2f} s",
    )
    return ratio, {"plan": plan, "diff": took}


def _policy_ratio() -> tuple[Ratio, dict[str, Any]]:
    from pipeline.policy import PolicyHarness, StageGraph
    from pipeline.policy.check import project_of
    from pipeline.render import render_stages
    from pipeline.stages import load_stages

    stages = load_stages(PROJECT / "stacks", AWS)
    renders = render_stages(PROJECT, stages.configs.values())
    per_resource: list[float] = []
    with PolicyHarness(PROJECT / "policies") as harness:
        for stack, render in renders.items():
            graph = StageGraph(
                stack,
                project_of(render.resources),
                render.resources,
                render.outputs,
                dict(stages.configs[stack].values),
            )
            harness.analyze(graph)  # warm: config resolved, channel open
            times = []
            for _ in range(POLICY_RUNS):
                start = time.perf_counter()
                harness.analyze(graph)
                times.append(time.perf_counter() - start)
            per_resource.append(_median(times) * 1000 / len(graph.resources))
        rules = len(harness.policies())
    ms = _median(per_resource)
    spread = ", ".join(f"{s} {v:.2f}" for s, v in zip(renders, per_resource, strict=True))
    return Ratio("policy, ms per resource", ms, 0.5, f"per stage: {spread}"), {"rules": rules}


def run() -> str:
    load = os.getloadavg()[0]
    plan_ratios, plan = _plan_ratios()
    diff_ratio, diff = _diff_ratio()
    policy_ratio, policy = _policy_ratio()
    after = os.getloadavg()[0]
    ratios = [*plan_ratios, diff_ratio, policy_ratio]
    missed = [r for r in ratios if not r.meets]
    return "\n".join(
        [
            "## Issue 14's targets (ratios measured in one run)",
            "",
            f"Median of {RUNS} runs each, whole CLI in new processes; load average {load:.2f}"
            f" at the start, {after:.2f} at the end, on {os.cpu_count()} cores. Import floor"
            f" {plan['floor']:.2f} s, one stage's render {plan['render']:.2f} s; cold plan"
            f" {plan['cold']:.2f} s, warm {plan['warm']:.2f} s (a cold plan of dev alone"
            f" {plan['one']:.2f} s, so four stages cost {plan['cold'] / plan['one']:.2f} times"
            " one); plan --no-cache in a clone"
            f" {diff['plan']:.2f} s, diff {diff['diff']:.2f} s; the pack has"
            f" {policy['rules']} rules, each stage runs its substrate's.",
            "",
            "| ratio | measured | target | verdict | from |",
            "|---|---|---|---|---|",
            *(r.row() for r in ratios),
            "",
            f"{len(ratios) - len(missed)} of {len(ratios)} targets met in this run"
            + (f"; missed: {', '.join(r.name for r in missed)}." if missed else "."),
            "",
        ]
    )
