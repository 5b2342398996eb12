"""The releases in the git state's tree (moved from pipeline.record.state)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.promote.release import Release, ReleaseError, parse_release, unknown_release
from pipeline.record.refs import STATE_REF

if TYPE_CHECKING:
    from pipeline.record.store import GitStore


class GitReleases:
    """The releases in the state's tree (read-only view; ``GitState.save_release`` adds)."""

    def __init__(self, state: GitStore) -> None:
        self.state = state

    def get(self, release_id: str) -> Release:
        self.state.ensure()
        where = f"{self.state.remote}:{STATE_REF}:releases/{release_id}.json"
        raw = self.state.read(f"releases/{release_id}.json")
        if raw is None:
            raise unknown_release(where, release_id, self.all())
        return parse_release(raw.decode("utf-8"), where, release_id)

    def all(self) -> list[Release]:
        self.state.ensure()
        names = [n for n in self.state.list_dir("releases/") if n.endswith(".json")]
        tip = self.state.tip
        # One cat-file for all of them: a year of releases is a thousand files.
        raw = self.state.git.objects([f"{tip}:releases/{n}" for n in names]) if tip else {}
        found = []
        for name in names:
            content = raw.get(f"{tip}:releases/{name}")
            if content is None:
                continue
            release_id = name.removesuffix(".json")
            where = f"{self.state.remote}:{STATE_REF}:releases/{name}"
            try:
                found.append(parse_release(content.decode("utf-8"), where, release_id))
            except ReleaseError:
                continue
        return sorted(found, key=lambda r: (r.created, r.id))
