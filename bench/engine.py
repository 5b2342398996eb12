"""Engine benchmark: a real `pulumi preview` of dev (the CLI built from source, stand-in
providers, file backend) beside the offline `pipeline plan --stack dev`, interleaved, same run.

Both are whole commands in new processes, as a developer or CI runs them. The offline plan renders
afresh (`--no-cache`) and includes its policy check; the engine's preview here runs no policy pack.
Skipped with the reason when no engine can be had (no Go and no `pulumi` on PATH).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipeline.naming import temp_prefix

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT / "tools" / "standin"))
RUNS = 3


def _timed(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):  # plan's 1 is a finding after a full render
        raise RuntimeError(f"{' '.join(args[:3])} exited {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def run() -> str:
    from sandbox import EngineUnavailableError, Sandbox

    try:
        with tempfile.TemporaryDirectory(prefix=temp_prefix("bench-engine")) as tmp:
            sandbox = Sandbox.create(PROJECT, Path(tmp))
            sandbox.init("dev")
            engine, offline = [], []
            pulumi = [str(sandbox.bin / "pulumi"), "preview", "--stack", "dev", "--non-interactive"]
            plan = [sys.executable, "-m", "pipeline", "plan", "--stack", "dev", "--format", "json"]
            plan.append("--no-cache")  # a full render each time, as the engine does
            for _ in range(RUNS):
                engine.append(_timed(pulumi, sandbox.project, sandbox.env))
                offline.append(_timed(plan, PROJECT))
    except EngineUnavailableError as exc:
        return f"## engine\n\nNot run: {exc}.\n"
    real, mine = statistics.median(engine), statistics.median(offline)
    return "\n".join(
        [
            "## engine",
            "",
            f"Real `pulumi preview --stack dev` (engine built from source, stand-in providers) "
            f"vs offline `pipeline plan --stack dev --no-cache` (policy check included), median of"
            f" {RUNS} interleaved runs:",
            "",
            "| command | seconds |",
            "|---|---|",
            f"| pulumi preview (real engine) | {real:.2f} |",
            f"| pipeline plan (offline) | {mine:.2f} |",
            "",
            f"Ratio engine / offline: **{real / mine:.2f}**.",
            "",
        ]
    )
