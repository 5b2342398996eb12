"""``python -m pipeline diff`` starts the working tree's render before its CLI loads
(pipeline/headstart.py): the diff takes that render when it is the one it would start, and
stops one that is not, so the answer is always the answer of a diff started the usual way."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline import headstart
from pipeline.diff import diff_revisions
from pipeline.diff.output import as_json
from tests.diff.conftest import DiffRepo


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, bool]]:
    """Where every render started ran, and whether in a worktree, whoever started it."""
    started: list[tuple[Path, bool]] = []
    real = headstart.launch

    def launch(command: list[str], project: Path, in_worktree: bool) -> subprocess.Popen[str]:
        started.append((project, in_worktree))
        return real(command, project, in_worktree)

    monkeypatch.setattr(headstart, "launch", launch)
    yield started
    headstart.discard()


def _argv(base: str, stacks: list[str]) -> list[str]:
    return ["diff", "--base", base, *(w for s in stacks for w in ("--stack", s)), "--no-cache"]


def test_the_diff_takes_the_early_render_and_answers_the_same(
    diff_repo: DiffRepo, launches: list[tuple[Path, bool]]
) -> None:
    base = diff_repo.commits["scale"]
    expected = as_json(diff_repo.diff("scale", None, ["dev"]))
    launches.clear()
    assert headstart.start_for(_argv(base, ["dev"]), diff_repo.path)
    assert launches == [(diff_repo.path, False)]
    result = diff_revisions(diff_repo.path, base, None, ["dev"])
    # One more render only: the base's, in its worktree; the working tree's was the early one.
    assert len(launches) == 2 and launches[1][1] is True
    assert as_json(result) == expected


def test_an_early_render_of_other_stages_is_stopped_not_used(
    diff_repo: DiffRepo, launches: list[tuple[Path, bool]]
) -> None:
    base = diff_repo.commits["scale"]
    assert headstart.start_for(_argv(base, ["dev"]), diff_repo.path)
    early = headstart._early
    assert early is not None
    result = diff_revisions(diff_repo.path, base, None, ["dev", "test"])
    assert early.process.returncode is not None and early.process.returncode < 0  # killed
    # The early one, then both revisions' own: the working tree's again, the base's.
    assert len(launches) == 3 and launches.count((diff_repo.path, False)) == 2
    assert [w for _, w in launches].count(True) == 1
    assert as_json(result) == as_json(diff_repo.diff("scale", None, ["dev", "test"]))


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--stack", "dev"],
        ["diff", "--base", "HEAD", "--head", "HEAD~1"],  # a committed head renders in a worktree
        ["diff", "--base", "HEAD", "--help"],
        ["diff", "--base", "HEAD", "--jobs", "0"],
        ["diff", "--base", "HEAD", "--jobs", "two"],
        ["diff", "--base"],
        ["diff", "--stack", "dev"],  # no --base: the CLI says so, the guess says nothing
    ],
)
def test_only_a_diff_of_the_working_tree_starts_early(
    argv: list[str], launches: list[tuple[Path, bool]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert not headstart.start_for(argv)
    assert launches == [] and headstart._early is None
    assert capsys.readouterr() == ("", "")  # bad input is the CLI's to report, once


def test_no_pipeline_file_no_early_render(
    tmp_path: Path, launches: list[tuple[Path, bool]]
) -> None:
    assert not headstart.start_for(["diff", "--base", "HEAD"], tmp_path)
    assert launches == []


def test_an_untaken_render_is_stopped_by_discard(
    diff_repo: DiffRepo, launches: list[tuple[Path, bool]]
) -> None:
    assert headstart.start_for(["diff", "--base", "HEAD", "--no-cache"], diff_repo.path)
    early = headstart._early
    assert early is not None
    headstart.discard()  # what exit does for a diff that stopped at bad input
    assert early.process.returncode is not None and headstart._early is None


def test_a_relative_cache_dir_is_the_callers(tmp_path: Path) -> None:
    """A revision's plan runs in its own directory: the cache it is given is absolute."""
    command = headstart.plan_command(headstart.PROJECT_DIR, ["dev"], None, Path("rel/cache"))
    assert command[-2:] == ["--cache-dir", str(Path.cwd() / "rel" / "cache")]
