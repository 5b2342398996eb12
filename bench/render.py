"""Render benchmarks: one stage, all four, and one stage with 1, 10 and 50 services.

*Cold* is the whole CLI (`python -m pipeline plan --no-cache`) in a new process, imports
included, as a user or CI runs it with nothing cached. *Warm* is a render from the
already-started fork server (SDKs imported), which is what each further stage of a plan costs.
Peak memory is the largest process's RSS.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from pipeline.naming import temp_prefix

PROJECT = Path(__file__).resolve().parent.parent
RUNS = 3


def _cold(*args: str, project: Path = PROJECT) -> tuple[float, float]:
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
            cwd=project,
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


# Renders from a warm fork server, in a new process whose blueprint is the project's own.
WARM = """
import statistics, sys, time
from pathlib import Path
project = Path(sys.argv[1])
sys.path.insert(0, str(project))
from pipeline.render import render_stages
from pipeline.stages import load_stages
if __name__ == "__main__":
    configs = load_stages(project / "stacks", sys.argv[2:]).configs.values()
    render_stages(project, configs)
    times = []
    for _ in range({runs}):
        start = time.perf_counter()
        renders = render_stages(project, configs)
        times.append(time.perf_counter() - start)
    errors = [r.error for r in renders.values() if r.error]
    if errors:
        raise SystemExit(errors[0])
    count = sum(1 for r in renders.values() for x in r.resources if x["custom"])
    print(statistics.median(times), count)
"""


def _warm(stacks: list[str], project: Path = PROJECT) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix=temp_prefix("bench")) as tmp:
        script = Path(tmp) / "warm.py"
        script.write_text(WARM.format(runs=RUNS))
        out = subprocess.run(
            [sys.executable, str(script), str(project), *stacks],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    return float(out[-2]), int(out[-1])


COPIED = ("Pulumi.yaml", "blueprint.yaml", "__main__.py", "components", "pipeline", "policies")


def _services_project(count: int, root: Path) -> Path:
    """A copy of the project whose blueprint declares ``count`` services (dev has an image for
    each): services are the blueprint's, not a stack file's."""
    target = root / f"project-{count}"
    target.mkdir()
    for name in (*COPIED, "stacks"):
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target / name)
    names = [f"svc{i:02d}" for i in range(count)]
    blueprint = yaml.safe_load((target / "blueprint.yaml").read_text())
    template = next(iter(blueprint["services"].values()))
    # A copy each: services sharing one ``uses`` list would be dumped as a YAML alias, which
    # the loader refuses (hostile-input bounds).
    blueprint["services"] = {n: copy.deepcopy(template) for n in names}
    (target / "blueprint.yaml").write_text(yaml.safe_dump(blueprint, sort_keys=False))
    path = target / "stacks" / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    images = next(k for k in doc["config"] if k.endswith(":images"))
    doc["config"][images] = {
        n: f"ghcr.io/example/{n}@sha256:{hashlib.sha256(n.encode()).hexdigest()}" for n in names
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return target


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
    one_cold, one_peak = _cold("--stack", "dev")
    one_warm, one_count = _warm(["dev"])
    rows.append(
        f"| one stage (dev) | {one_count} | {one_cold:.2f} | {one_warm:.2f} | {one_peak:.0f} |"
    )
    pipeline = ["dev", "test", "staging", "live"]
    all_cold, all_peak = _cold(*[a for s in pipeline for a in ("--stack", s)])
    all_warm, all_count = _warm(pipeline)
    rows.append(f"| four stages | {all_count} | {all_cold:.2f} | {all_warm:.2f} | {all_peak:.0f} |")
    for label, stacks in (
        ("one Azure stage (azure-dev)", ["azure-dev"]),
        ("four Azure stages", ["azure-dev", "azure-test", "azure-staging", "azure-live"]),
        ("local Docker stage", ["local"]),
    ):
        cold, peak = _cold(*[a for s in stacks for a in ("--stack", s)])
        warm, count = _warm(stacks)
        rows.append(f"| {label} | {count} | {cold:.2f} | {warm:.2f} | {peak:.0f} |")
    with tempfile.TemporaryDirectory() as tmp:
        for count in (1, 10, 50):
            project = _services_project(count, Path(tmp))
            cold, peak = _cold("--stack", "dev", project=project)
            warm, resources = _warm(["dev"], project)
            rows.append(
                f"| dev with {count} services | {resources} | {cold:.2f} | {warm:.2f} |"
                f" {peak:.0f} |"
            )
    return "\n".join(rows) + "\n"
