"""pipeline.naming reads Pulumi.yaml's name without a YAML parser when it can, and always agrees
with components.project, the YAML reader."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from components import project
from pipeline import naming
from tests.conftest import PROJECT_DIR
from tests.test_rename import copy_project

RUNTIME = "runtime:\n  name: python\n"


@pytest.mark.parametrize(
    "text",
    [
        f"name: acme-shop\n{RUNTIME}",
        f"{RUNTIME}name: 'acme.shop'\n",  # after a nested name:, quoted
        f'name: "acme_shop"  # the project\n{RUNTIME}',
        f"description: >-\n  name: not-this\nname: acme-shop\n{RUNTIME}",
        f"name: !!str acme-shop\n{RUNTIME}",  # not a plain word: the YAML reader's turn
        "{name: acme-shop, runtime: python}\n",  # flow mapping: likewise
    ],
)
def test_the_light_reader_agrees_with_the_yaml_reader(tmp_path: Path, text: str) -> None:
    (tmp_path / "Pulumi.yaml").write_text(text)
    assert naming.project_name(tmp_path) == project.name(tmp_path)
    assert naming.project_name(tmp_path) in {"acme-shop", "acme.shop", "acme_shop"}


def test_this_checkout(tmp_path: Path) -> None:
    name = project.name()
    assert naming.project_name() == name
    assert naming.cache_dir() == PROJECT_DIR / f".{name}" / "cache"
    assert naming.cache_hint() == f".{name}/cache"
    assert naming.scratch_dir(tmp_path / ".git") == tmp_path / ".git" / name
    assert naming.temp_prefix("diff") == f"{name}-diff-"
    assert naming.tool_identity() == (name, f"{name}@localhost")


def test_another_checkout_s_cache_is_named_after_its_own_project(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(f"name: acme-shop\n{RUNTIME}")
    assert naming.cache_dir(tmp_path) == tmp_path / ".acme-shop" / "cache"


def test_a_project_file_without_a_name_is_the_yaml_reader_s_error(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(RUNTIME)
    with pytest.raises(project.ProjectError, match=r"Pulumi\.yaml: name: required"):
        naming.project_name(tmp_path)


@pytest.mark.parametrize("args", [["plan"], ["diff", "--base", "HEAD"]])
def test_a_project_file_without_a_name_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str]
) -> None:
    """The early starters read the name before the CLI loads; the error is still one line."""
    root = copy_project(tmp_path / "project")
    text = (root / "Pulumi.yaml").read_text()
    (root / "Pulumi.yaml").write_text(re.sub(r"(?m)^name:.*$", "name:", text))
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    path = root.resolve() / "Pulumi.yaml"
    assert result.stderr == f"{args[0]}: {path}: name: required, a non-empty string\n"
