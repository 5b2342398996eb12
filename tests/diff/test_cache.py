"""diff renders only what changed: a committed base it rendered before is read from the plan
cache (no worktree, no render), and a revision it does render reuses the unchanged stages of
the shared stage cache. The results are those of a diff from scratch."""

from __future__ import annotations

import shutil
from pathlib import Path

from pipeline.diff import diff_revisions
from pipeline.diff.revisions import CACHED, RENDERED
from tests.diff.conftest import AWS_STAGES, DiffRepo


def _stage_entries(cache: Path) -> dict[Path, int]:
    """Stage renders in the cache, with when each was written."""
    return {
        p: p.stat().st_mtime_ns
        for p in cache.rglob("*.json")
        if not {"plans", "policy"} & set(p.relative_to(cache).parts)
    }


def test_an_unchanged_base_comes_from_the_cache(diff_repo: DiffRepo, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    ready: list[dict[str, str]] = []

    def run(base: str, head: str):  # type: ignore[no-untyped-def]
        how: dict[str, str] = {}
        result = diff_revisions(
            diff_repo.path,
            diff_repo.commits[base],
            diff_repo.commits[head],
            AWS_STAGES,
            cache_dir=cache,
            done=lambda role, said: how.__setitem__(role, said),
        )
        ready.append(how)
        return result

    first = run("base", "scale")
    assert ready[-1] == {"base": RENDERED, "head": RENDERED}
    # base and scale differ in dev's stack file alone: the other three stages share one key.
    written = _stage_entries(cache)
    assert len(written) == len(AWS_STAGES) + 1, sorted(p.name for p in written)

    # scale was a head a moment ago: as a base now, nothing of it is rendered.
    second = run("scale", "blueprint")
    assert ready[-1] == {"base": CACHED, "head": RENDERED}
    # blueprint.yaml changed the shape of every stage: no stale render may have been served.
    assert second.to_json() == diff_repo.diff("scale", "blueprint").to_json()
    assert "core" in str(second.to_json()["stages"]["live"]["changed"])

    # Without the plan cache both revisions render, and every stage is served, not rewritten.
    shutil.rmtree(cache / "plans")
    before = _stage_entries(cache)
    third = run("base", "scale")
    assert ready[-1] == {"base": RENDERED, "head": RENDERED}
    assert _stage_entries(cache) == before
    assert third.to_json() == first.to_json()
    assert set(written) <= set(before)
