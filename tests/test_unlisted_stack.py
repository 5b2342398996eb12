"""No stack file is invisible: a ``stacks/Pulumi.<stack>.yaml`` that the pipeline file neither
lists nor ignores is an error naming the file (exit 2), not a stack ``plan`` skips silently."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.stages import StagesError, load_stages


def _uat(stacks_dir: Path) -> Path:
    """The issue's case: a copy of the test stack file under a name no pipeline lists."""
    target = stacks_dir / "Pulumi.uat.yaml"
    shutil.copy(stacks_dir / "Pulumi.test.yaml", target)
    return target


def test_unlisted_stack_file_is_refused_naming_it(stacks_copy: Path) -> None:
    uat = _uat(stacks_copy)
    with pytest.raises(StagesError) as caught:
        load_stages(stacks_copy)
    [line] = str(caught.value).splitlines()
    assert line.startswith(f"{uat}: stack: stack 'uat' is in no pipeline of"), line
    assert "list it under ignored" in line
    with pytest.raises(StagesError):  # selecting other stacks does not hide it either
        load_stages(stacks_copy, ["dev"])


def test_plan_exits_2_naming_the_file(
    stacks_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uat = _uat(stacks_copy)
    code = main(["plan", "--stacks-dir", str(stacks_copy)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(uat) in err and "in no pipeline" in err, err
    assert "Traceback" not in err


def test_a_stack_listed_as_ignored_is_skipped_on_purpose(stacks_copy: Path) -> None:
    _uat(stacks_copy)
    pipeline = stacks_copy / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text() + "\nignored:\n  - uat\n")
    stages = load_stages(stacks_copy)
    assert "uat" not in stages.configs
    assert {"dev", "live", "local"} <= set(stages.configs)
