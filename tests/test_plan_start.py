"""What plan starts before it validates: the fork server, warmed for the clouds the stack files
name (a line scan, never a YAML parse of unchecked input), and the policy pack, which boots and
checks while the stages render; a wrong hint only costs time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from components.spec.loader import PROJECT
from pipeline import early
from pipeline.cache import RenderCache
from pipeline.plan import Mark, clouds_hint, make_plan
from pipeline.render import render_stages
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR


def test_the_hint_names_each_selected_stage_cloud():
    assert clouds_hint(PROJECT_DIR, STACKS_DIR, ["dev", "live"]) == {"aws"}
    assert clouds_hint(PROJECT_DIR, STACKS_DIR, ["azure-dev", "local"]) == {"azure", "docker"}
    assert clouds_hint(PROJECT_DIR, STACKS_DIR, None) == {"aws", "azure", "docker"}


def test_the_hint_reads_no_yaml(tmp_path):
    # An alias bomb is a few lines; the loader refuses it later, the hint only scans lines.
    (tmp_path / "Pulumi.x.yaml").write_text(
        'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        f"config:\n  {PROJECT}:cloud: azure\n"
    )
    (tmp_path / "Pulumi.y.yaml").write_bytes(b"\xff\xfe not text")
    assert clouds_hint(PROJECT_DIR, tmp_path, None) == {"azure", "aws"}
    assert clouds_hint(PROJECT_DIR, tmp_path, ["missing"]) == {"aws"}


def _first(marks, event):
    return min(m.at for m in marks if m.event == event)


def _last(marks, event):
    return max(m.at for m in marks if m.event == event)


@pytest.mark.parametrize("cached", [False, True], ids=["no-cache", "empty-cache"])
def test_the_pack_boots_and_checks_while_the_stages_render(tmp_path, cached):
    """Issue 14 item 7: the pack starts while the stages render, and a stage's policy is
    checked as soon as its render arrives. Read from the moments the plan records (the pack's
    launch in this process, each render's start and end in its own process, one clock)."""
    stacks = ["dev", "test", "staging", "live"]
    cache = RenderCache(tmp_path / "cache", PROJECT_DIR, STACKS_DIR / "pipeline.yaml")
    marks: list[Mark] = []
    plan = make_plan(
        PROJECT_DIR, STACKS_DIR, stacks, jobs=2, cache=cache if cached else None, timeline=marks
    )
    assert plan.render_errors == {}
    assert sorted(m.stack for m in marks if m.event == "render finished") == sorted(stacks)
    assert [m.event for m in marks].count("pack launched") == 1
    # Launched before the first stage began rendering, so it boots during the renders.
    assert _first(marks, "pack launched") < _first(marks, "render started")
    # Two processes for four stages: the first stage's check runs while a later one renders.
    assert _first(marks, "policy started") < _last(marks, "render finished")
    # Whatever order the stages arrived in, the report keeps the stages' order.
    assert list(plan.compliance) == list(plan.policy) == stacks


def test_python_m_pipeline_starts_the_fork_server_first_only_for_a_plan_that_renders(tmp_path):
    """``python -m pipeline plan`` warms the SDKs before the CLI loads, unless every stack file
    it reads was rendered and stored with these exact bytes (then a warm plan imports none)."""
    cache_dir = tmp_path / "cache"
    plan = ["plan", "--stack", "dev", "--stacks-dir", str(STACKS_DIR)]
    cached = [*plan, "--cache-dir", str(cache_dir)]
    assert early.clouds_to_warm(cached) == {"aws"}
    assert early.clouds_to_warm([*plan, "--stack", "azure-dev", "--no-cache"]) == {"aws", "azure"}
    for other in (["diff", "--stack", "dev"], [*plan, "--help"], ["plan", "--stack"], []):
        assert early.clouds_to_warm(other) is None, other

    stacks = tmp_path / "stacks"
    shutil.copytree(STACKS_DIR, stacks)
    mine = ["plan", "--stack", "dev", "--stacks-dir", str(stacks), "--cache-dir", str(cache_dir)]
    cache = RenderCache(cache_dir, PROJECT_DIR, stacks / "pipeline.yaml")
    cache.render(
        load_stages(stacks, ["dev"]).configs.values(),
        lambda missing, stored: render_stages(PROJECT_DIR, missing, ready=stored),
    )
    assert early.clouds_to_warm(mine) is None
    assert early.clouds_to_warm([*mine, "--no-cache"]) == {"aws"}
    assert early.clouds_to_warm([*mine, "--stack", "test"]) == {"aws"}  # test was never stored
    # One byte of the stack file, or of the pipeline file, and the guess is "renders" again.
    dev = stacks / "Pulumi.dev.yaml"
    dev.write_text(dev.read_text() + "\n")
    assert early.clouds_to_warm(mine) == {"aws"}


def test_an_aws_fork_server_imports_no_other_cloud_sdk():
    """The fork server of an AWS plan preloads AWS only: each substrate's mock answers live in
    its package, imported when a stage of that substrate is mocked (pipeline.mocks.tables)."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        f"for name in {early.PRELOAD!r}:\n"
        "    __import__(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in"
        " ('pulumi_aws', 'pulumi_docker', 'pulumi_azure_native')"
        " and '.' not in m))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        env={**os.environ, "STAGELINE_WARM": "aws"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split("\n")[-2] == "['pulumi_aws']", done.stdout


def test_a_fork_server_started_for_nothing_stops_with_its_process(tmp_path):
    """A plan that stops early (bad input) must not leave its fork server importing SDKs for
    seconds after it exited: the server is terminated when the process that started it exits."""
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "pid"
    script = (
        "from pathlib import Path\n"
        "from pipeline import early\n"
        "early.start_fork_server({'aws'})\n"
        "from multiprocessing import forkserver\n"
        f"Path({str(pid_file)!r}).write_text(str(forkserver._forkserver._forkserver_pid))\n"
    )  # then exit, mid-preload; no pipes, which the fork server would hold open
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=True,
    )
    stat = Path(f"/proc/{int(pid_file.read_text())}/stat")

    def running() -> bool:
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 0.5  # the preload takes seconds: only a kill ends it this soon
    while running() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not running()


def _imported(argv: list[str]) -> set[str]:
    """The top-level modules ``python -m pipeline <argv>`` imported in its own process
    (``-X importtime`` names every module a process imports, on its stderr)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipeline", *argv],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    assert lines, "no -X importtime output"
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines}


SDK_ROOTS = {"pulumi", "pulumi_aws", "pulumi_azure_native", "pulumi_docker", "grpc"}


def test_a_plan_served_from_the_cache_imports_no_sdk(tmp_path):
    """Issue 14's warm plan: every stage's render and policy result is in the cache, so the
    plan never builds a stage nor starts the pack, and must not pay for the SDKs either."""
    plan = ["plan", "--stack", "dev", "--stack", "live", "--format", "json"]
    plan += ["--cache-dir", str(tmp_path / "cache")]
    cold = _imported(plan)  # fills the cache (it renders in the fork server, not here)
    assert "pulumi" in cold  # the pack's harness: this process did check the policy
    assert _imported(plan) & SDK_ROOTS == set()


def test_the_cli_loads_no_sdk_to_parse_its_commands():
    """Every command module is imported to build the parser: none of them may import an SDK
    at module level (``diff`` runs its renders in other processes and needs none itself)."""
    assert _imported(["diff", "--help"]) & SDK_ROOTS == set()
