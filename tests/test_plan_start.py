"""What plan starts before it validates: the fork server, warmed for the clouds the stack files
name (a line scan, never a YAML parse of unchecked input); a wrong hint only costs time."""

from __future__ import annotations

import pytest

from components.spec.loader import PROJECT
from pipeline.cache import RenderCache
from pipeline.plan import Mark, clouds_hint, make_plan
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
