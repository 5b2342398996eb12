"""Render benchmarks: one stage, all four, and one stage with 1, 10 and 50 services.

*Cold* is the whole CLI (`python -m pipeline plan --no-cache`) in a new process, imports
included, as a user or CI runs it with nothing cached. *Warm* is a render from the
already-started fork server (SDKs imported), which is what each further stage of a plan costs.
Peak memory is the largest process's RSS.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from pipeline.render import render_stages
from pipeline.stages import load_stages

PROJECT = Path(__file__).resolve().parent.parent
STACKS = PROJECT / "stacks"
RUNS = 3


def _cold(*args: str) -> tuple[float, float]:
    """Median seconds and peak RSS (MB) of `python -m pipeline plan ARGS` in a new process."""
    times, peaks = [], []
    # The CLI decides what to warm from the stacks it renders, as a user's run does.
    env = {k: v for k, v in os.environ.items() if k != "STAGELINE_WARM"}
    for _ in range(RUNS):
        script = (
            "import resource, subprocess, sys, time;"
            "t = time.perf_counter();"
            "r = subprocess.run([sys.executable, '-m', 'pipeline', 'plan', '--no-cache',"
            f" *{list(args)!r}],"
            " stdout=subprocess.DEVNULL);"
            "d = time.perf_counter() - t;"
            "print(d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
        )
        out = subprocess.run(
            [sys.executable, "-c", script],
            cwd=PROJECT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if out[2] not in ("0", "1"):
            raise RuntimeError(f"plan {args} exited {out[2]}")
        times.append(float(out[0]))
        peaks.append(int(out[1]) / 1024)
    return statistics.median(times), max(peaks)


def _services_stacks(count: int, root: Path) -> Path:
    """A copy of stacks/ whose dev stage runs ``count`` services."""
    target = root / f"stacks-{count}"
    shutil.copytree(STACKS, target)
    shutil.copy(PROJECT / "Pulumi.yaml", root / "Pulumi.yaml")
    path = target / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    names = [f"svc{i:02d}" for i in range(count)]
    doc["config"]["stageline:shape"] = {
        "services": {n: {"port": 8080, "healthPath": "/healthz"} for n in names}
    }
    doc["config"]["stageline:images"] = {
        n: f"ghcr.io/stageline/{n}@sha256:{hashlib.sha256(n.encode()).hexdigest()}" for n in names
    }
    doc["config"]["stageline:scale"] = {"logRetentionDays": 14}
    path.write_text(yaml.safe_dump(doc))
    return target


def _warm(stacks_dir: Path, stacks: list[str]) -> tuple[float, int]:
    stages = load_stages(stacks_dir, stacks)
    times, count = [], 0
    for _ in range(RUNS):
        start = time.perf_counter()
        renders = render_stages(PROJECT, stages.configs.values())
        times.append(time.perf_counter() - start)
        errors = [r.error for r in renders.values() if r.error]
        if errors:
            raise RuntimeError(errors[0])
        count = sum(1 for r in renders.values() for x in r.resources if x["custom"])
    return statistics.median(times), count


def run() -> str:
    rows = [
        "## Render (`python -m pipeline plan`)",
        "",
        f"Median of {RUNS} runs. Cold CLI includes the policy pack run over the stages."
        " Targets: one stage <= 1 s, four stages <= 3 s, 50 services"
        " <= 5 s, peak memory <= 500 MB.",
        "",
        "| case | resources | cold CLI (s) | warm render (s) | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    # Start the fork server warm for every substrate measured below.
    os.environ["STAGELINE_WARM"] = "aws,azure,docker"
    render_stages(PROJECT, load_stages(STACKS, ["dev"]).configs.values())
    one_cold, one_peak = _cold("--stack", "dev")
    one_warm, one_count = _warm(STACKS, ["dev"])
    rows.append(
        f"| one stage (dev) | {one_count} | {one_cold:.2f} | {one_warm:.2f} | {one_peak:.0f} |"
    )
    pipeline = ["dev", "test", "staging", "live"]
    all_cold, all_peak = _cold(*[a for s in pipeline for a in ("--stack", s)])
    all_warm, all_count = _warm(STACKS, pipeline)
    rows.append(f"| four stages | {all_count} | {all_cold:.2f} | {all_warm:.2f} | {all_peak:.0f} |")
    for label, stacks in (
        ("one Azure stage (azure-dev)", ["azure-dev"]),
        ("four Azure stages", ["azure-dev", "azure-test", "azure-staging", "azure-live"]),
        ("local Docker stage", ["local"]),
    ):
        cold, peak = _cold(*[a for s in stacks for a in ("--stack", s)])
        warm, count = _warm(STACKS, stacks)
        rows.append(f"| {label} | {count} | {cold:.2f} | {warm:.2f} | {peak:.0f} |")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1, 10, 50):
            stacks_dir = _services_stacks(count, Path(tmp))
            cold, peak = _cold("--stack", "dev", "--stacks-dir", str(stacks_dir))
            warm, resources = _warm(stacks_dir, ["dev"])
            rows.append(
                f"| dev with {count} services | {resources} | {cold:.2f} | {warm:.2f} |"
                f" {peak:.0f} |"
            )
    return "\n".join(rows) + "\n"
