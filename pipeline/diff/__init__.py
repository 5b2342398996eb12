"""``diff``: what a change does to every stage, rendered offline from both revisions' own code."""

from __future__ import annotations

from pathlib import Path

from pipeline.diff.compare import DiffResult, compare
from pipeline.diff.masking import Masker
from pipeline.diff.revisions import RENDER_TIMEOUT, DiffError, Done, render_revisions, resolve

__all__ = ["DiffError", "DiffResult", "diff_revisions"]


def diff_revisions(
    project_dir: Path,
    base: str,
    head: str | None = None,
    stacks: list[str] | None = None,
    jobs: int | None = None,
    timeout: float = RENDER_TIMEOUT,
    cache_dir: Path | None = None,
    done: Done | None = None,
) -> DiffResult:
    """Render ``base`` and ``head`` (None: the working tree) and diff every stage.

    Raises DiffError for a bad revision or a revision that does not render; secret values of
    either revision's stack files are masked in everything the result holds. ``cache_dir``:
    reuse what was rendered before (None: render both afresh); ``done(role, how)`` per revision.
    """
    old, new = render_revisions(
        project_dir,
        resolve(project_dir, "base", base),
        resolve(project_dir, "head", head),
        stacks,
        jobs,
        timeout,
        cache_dir,
        done,
    )
    masker = Masker(old.secrets | new.secrets)
    old.plan, new.plan = masker.data(old.plan), masker.data(new.plan)
    result = compare(old, new)
    result.masker = masker
    return result
