"""diff's terminal table fits the width as plan's does: no line over 80 or 100 columns, no
value cut (an old and a new value must look different), colour only when asked."""

from __future__ import annotations

import re

import pytest

from pipeline.diff.compare import DiffResult, Finding, PropertyChange, ResourceChange, StageDiff
from pipeline.diff.output import table
from pipeline.diff.revisions import Revision
from tests.diff.conftest import DiffRepo

ESCAPE = re.compile(r"\x1b\[")
LONG_OLD, LONG_NEW = "o" * 230, "n" * 230


def _result(old: str = LONG_OLD, new: str = LONG_NEW) -> DiffResult:
    task = "aws:ecs/taskDefinition:TaskDefinition"
    urn = f"urn:pulumi:dev::project::{task}::dev-services-api-task-with-a-long-name"
    change = ResourceChange(
        urn,
        task,
        "dev-services-api-task-with-a-long-name",
        "change",
        (
            PropertyChange("containerDefinitions[0].image", old, new),
            PropertyChange("cpu", "256", "512"),
            PropertyChange("memory", None, "1024"),
        ),
        replaced_by=("containerDefinitions[0].image",),
    )
    finding = Finding("parity", "dev", urn, "cpu", "differs from test, staging and live " * 3, True)
    stages = {"dev": StageDiff("dev", changed=[change]), "test": StageDiff("test")}
    return DiffResult(Revision("main", "a" * 40), Revision("working tree"), stages, [finding])


@pytest.mark.parametrize("width", [80, 100])
def test_no_line_is_wider_than_the_width_and_no_value_is_cut(width: int) -> None:
    text = table(_result(), width)
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert too_wide == [], f"{len(too_wide)} lines over {width}: {too_wide[:3]}"
    assert "…" not in text, "a value was cut"
    # The long values fold over lines, every character kept: the same table without them
    # has exactly their length fewer of their letter.
    without = table(_result("", ""), width)
    assert text.count("o") - without.count("o") == len(LONG_OLD)
    assert text.count("n") - without.count("n") == len(LONG_NEW)
    flat = " ".join(text.split())
    for shown in ('"256" -> "512"', '(absent) -> "1024"', "dev: +0 added, -0 removed, ~1 changed"):
        assert shown in flat, shown
    assert "test: no changes" in flat
    assert not ESCAPE.search(text), "no colour unless asked"


def test_colour_only_when_asked() -> None:
    assert ESCAPE.search(table(_result(), 100, color=True))


@pytest.mark.parametrize("width", [80, 100])
def test_a_real_diff_fits(diff_repo: DiffRepo, width: int) -> None:
    result = diff_repo.diff("scale", "blueprint")
    text = table(result, width)
    assert [line for line in text.splitlines() if len(line) > width] == []
    assert "…" not in text
    assert '"app" -> "core"' in " ".join(text.split())
