"""``plan``'s table answers "are my stages the same, and do they comply?": the differences first,
then compliance per stage, then each finding once with a count, the resources and the config
file; cells wrap between words and path segments, never inside one. Run as people run it: on a
real terminal 80, 100 and 160 columns wide, and through a pipe that says ``COLUMNS``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import layout, report
from pipeline.plan import make_plan
from tests.conftest import PROJECT_DIR
from tests.ttys import Terminal

SGR = re.compile(r"\x1b\[[0-9;]*m")
SECTIONS = ("Differences between stages", "Compliance per stage", "Result:")


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """One cache for the module: the plan below renders, the terminal runs read it."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def plan(cache_dir):
    from pipeline.cache import RenderCache

    stacks = PROJECT_DIR / "stacks"
    cache = RenderCache(cache_dir, PROJECT_DIR, stacks / "pipeline.yaml")
    return make_plan(PROJECT_DIR, stacks, cache=cache)


@pytest.fixture(scope="module")
def whole_runs(plan) -> set[str]:
    """Every run of non-blank characters the table can print, split only between pieces:
    taken from a render so wide that nothing wraps."""
    runs: set[str] = {"value", "per", "stage"}  # the header of the folded matrix
    for run in report.table(plan, 10_000).split():
        parts = layout.pieces(run)
        for i in range(len(parts)):
            for j in range(i + 1, len(parts) + 1):
                runs.add("".join(parts[i:j]))
    return runs


def _split_mid_token(text: str, whole: set[str]) -> list[str]:
    return sorted({run for run in text.split() if run not in whole and run.strip("─")})


@pytest.mark.parametrize("text, width", [
    ("database.deletionProtection", 20),
    ("allowed: scale: loadBalancerDeletionProtection", 31),
    ("containerDefinitions[0].cpu", 21),
    ("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy", 33),
    ("template.containers[0].resources.memory", 24),
])  # fmt: skip
def test_wrap_breaks_between_pieces_never_inside_one(text, width):
    lines = layout.wrap(text, width)
    assert "".join(layout.pieces(text)) == text
    assert all(len(line) <= width for line in lines), lines
    assert re.sub(r"\s", "", "".join(lines)) == re.sub(r"\s", "", text), lines
    pieces = [p.strip() for p in layout.pieces(text)]
    for line in lines:  # each line is whole pieces
        assert any(line.strip().startswith(p) for p in pieces), (line, pieces)
    assert "deletionProtectio" not in lines and "n" not in lines


def test_a_piece_wider_than_the_column_is_the_only_thing_cut():
    digest = "sha256:" + "a" * 64
    lines = layout.wrap(digest, 30)
    assert all(len(line) <= 30 for line in lines) and "".join(lines) == digest
    columns = [layout.Column("value", [digest]), layout.Column("verdict", ["allowed"])]
    assert layout.fit(columns, 40) is None  # the caller falls back to shares
    assert layout.fit(columns, 100) == [71, len("verdict")]  # no wider than it needs


@pytest.mark.parametrize("width", [80, 100, 160])
def test_in_process_no_piece_is_split(plan, whole_runs, width):
    text = report.table(plan, width)
    assert _split_mid_token(text, whole_runs) == []
    assert max(len(line) for line in text.splitlines()) <= width


def test_at_160_columns_a_verdict_never_wraps(plan):
    text = report.table(plan, 160)
    for row in plan.parity.rows:
        if row.verdict != "identity":
            assert f"{row.verdict}: {row.reason}" in text, (row.resource, row.property)


def test_the_inventory_is_behind_an_option(plan):
    text = report.table(plan, 100)
    assert "Resources by role" not in text and "--resources" in text
    listed = report.table(plan, 100, resources=True)
    assert "Resources by role" in listed
    assert "Instance ×1" in listed  # the RDS instance, in the database role
    assert len(listed.splitlines()) > len(text.splitlines())


def _sections_in_order(text: str) -> None:
    where = [text.index(s) for s in SECTIONS]
    assert where == sorted(where), where


def _check(text: str, width: int, plan, whole: set[str]) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, width
    _sections_in_order(text)
    assert _split_mid_token(text, whole) == []
    for stack, summary in plan.compliance.items():
        assert summary["config"] in text, stack  # the policy config file of each stage


@pytest.mark.parametrize("columns", [80, 100, 160])
def test_on_a_real_terminal(columns, plan, whole_runs, cache_dir):
    tty = Terminal(columns)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS")}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "plan", "--cache-dir", str(cache_dir)],
        cwd=PROJECT_DIR,
        env={**env, "TERM": "xterm"},
        stdout=tty.follower,
        stderr=subprocess.PIPE,
        timeout=600,
    )
    tty.close_follower()
    seen = tty.finish()
    assert done.returncode == 0, done.stderr
    assert SGR.search(seen), "a terminal gets colour"
    text = SGR.sub("", seen).replace("\r\n", "\n")
    _check(text, columns, plan, whole_runs)


def test_through_a_pipe_columns_is_honoured(plan, whole_runs, cache_dir):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "plan", "--cache-dir", str(cache_dir)],
        cwd=PROJECT_DIR,
        env={**env, "COLUMNS": "132"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert not SGR.search(done.stdout), "no colour into a pipe"
    _check(done.stdout, 132, plan, whole_runs)
    assert max(len(line) for line in done.stdout.splitlines()) > 100, "not the default 100"


@pytest.fixture(scope="module")
def copied_config(tmp_path_factory) -> Path:
    """A project whose dev policy config is a copy of the local stage's: every taggable dev
    resource fails the same rule with the same message."""
    root = tmp_path_factory.mktemp("copied")
    for name in ("Pulumi.yaml", "blueprint.yaml", "__main__.py"):
        shutil.copy2(PROJECT_DIR / name, root / name)
    skip = shutil.ignore_patterns("__pycache__")
    for name in ("components", "pipeline", "policies", "stacks"):
        shutil.copytree(PROJECT_DIR / name, root / name, ignore=skip)
    config = root / "policies" / "config"
    shutil.copy2(config / "local.json", config / "dev.json")
    return root


def test_repeated_findings_are_one_entry_with_count_resources_and_config(copied_config):
    plan = make_plan(copied_config, copied_config / "stacks", ["dev"])
    findings = plan.policy["dev"]
    assert len(findings) > 20
    text = report.table(plan, 100)
    repeated = {(f["policy"], f["message"]) for f in findings}
    for policy, message in repeated:
        count = sum(1 for f in findings if (f["policy"], f["message"]) == (policy, message))
        shown = f"{policy} ×{count}" if count > 1 else policy
        assert text.count(shown) == 1, shown
    joined = " ".join(text.split())
    assert "config: policies/config/dev.json" in joined
    first = findings[0]["urn"].split("::")[-1].removeprefix("dev-")
    assert first in joined, "the resources are named"
    assert "more (--format json lists them)" in joined
    mandatory = sum(1 for f in findings if f["enforcement"] == "mandatory")
    assert f"{mandatory} mandatory (" in joined
    assert len(text.splitlines()) < len(findings), "not one line per finding"


@pytest.mark.parametrize("width", [20, 40, 60])
def test_the_narrowest_widths_still_fit(plan, width):
    """Below what the pieces need, the layout shares the width and cuts only what must be cut
    (a hanging indent wider than its column once made this loop forever)."""
    text = report.table(plan, width)
    assert max(len(line) for line in text.splitlines()) <= width
    where = [text.index(s) for s in ("Differences", "Compliance", "Result:")]
    assert where == sorted(where)


def test_wrap_always_ends():
    assert layout.wrap("staging  nat-c7d37693", 5, indent=9) == [
        "stagi", "ng", "nat-", "c7d37", "693",
    ]  # fmt: skip
    assert layout.wrap("abc", 0) == ["a", "b", "c"]
