"""The releases in the git state's tree (moved from pipeline.record.state)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.promote.release import Release, ReleaseError, parse_release, unknown_release
from pipeline.record.refs import STATE_REF

if TYPE_CHECKING:
    from pipeline.record.state import GitState


class GitReleases:
    """The releases in the state's tree (read-only view; ``GitState.save_release`` adds)."""

    def __init__(self, state: GitState) -> None:
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
        found = []
        for name in self.state.list_dir("releases/"):
            if not name.endswith(".json"):
                continue
            try:
                found.append(self.get(name.removesuffix(".json")))
            except ReleaseError:
                continue
        return sorted(found, key=lambda r: (r.created, r.id))
