"""A remote that is a bare repository on this machine (the ``record.git`` of ``--state-dir``),
moved without a transport: the state's objects are written straight into it (its clone borrows
them through ``objects/info/alternates``), and a write moves its refs with one
``git update-ref --stdin`` transaction, each ref held to the value this writer read: the same
compare-and-swap as a push with ``--force-with-lease``, all or none, without the ``push`` and
``receive-pack`` processes. A read first compares the bare repository's refs with what this
process verified (one ``for-each-ref``) and fetches and checks again only when they moved.

Counted on one offline dev-to-live promotion (docs/promotion.md, "The anchoring costs time"):
its 44 pushes took 2.8 s of the 4.3 s spent in git, two thirds.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.record.git import Git, GitError
from pipeline.record.refs import STATE_REF
from pipeline.record.store import GitStore

STAGE_BRANCHES = "refs/heads/stages/"
ABSENT = "0" * 40  # update-ref's old value for "the ref must not exist"


def share_objects(clone: Path, bare: Path) -> None:
    """Let ``clone`` read the objects of ``bare`` (git's alternates file, relative so the
    directory can move); written once."""
    info = clone / ".git" / "objects" / "info"
    alternates = info / "alternates"
    if not alternates.exists():
        info.mkdir(parents=True, exist_ok=True)
        # Relative to the clone's object directory: <dir>/clone/.git/objects.
        alternates.write_text(f"../../../{bare.name}/objects\n", encoding="utf-8")


class BareRemote(GitStore):
    """A GitStore whose remote is the bare repository ``bare`` on this machine."""

    bare: Git

    def _bare_refs(self) -> dict[str, str]:
        out = self.bare.text(
            "for-each-ref", "--format=%(refname) %(objectname)", STATE_REF, STAGE_BRANCHES
        )
        return dict(line.split() for line in out.splitlines())

    def _refresh(self) -> bool:
        """Fetch only when the bare repository's state or stage refs are not what this process
        verified last (or wrote itself)."""
        if not self.synced:
            self._collect()
        refs = self._bare_refs()
        stages = {
            ref.removeprefix(STAGE_BRANCHES): sha
            for ref, sha in refs.items()
            if ref.startswith(STAGE_BRANCHES)
        }
        if not self._moved(refs.get(STATE_REF), stages):
            return False
        self.fetch()
        return True

    def _collect(self) -> None:
        """Pack the bare repository's loose objects when git finds too many (``gc --auto``,
        once per process, in the foreground under the directory's lock): a push ran it on the
        receiving side, ``update-ref`` does not."""
        self.bare.run("-c", "gc.autoDetach=false", "gc", "--auto", "--quiet", check=False)

    def _publish(self, updates: Mapping[str, tuple[str, str | None]]) -> str | None:
        """Move the bare repository's refs in one transaction, each held to its expected
        value. The commits' objects are already in it (written through ``objects``)."""
        script = "".join(
            f"update {ref} {new} {old or ABSENT}\n" for ref, (new, old) in sorted(updates.items())
        )
        done = self.bare.run("update-ref", "--stdin", stdin=script.encode(), check=False)
        if done.returncode == 0:
            return None
        refs = self._bare_refs()
        moved = [
            f"{ref} is at {refs.get(ref, 'nothing')[:12]}, not {(old or 'nothing')[:12]}"
            for ref, (_, old) in sorted(updates.items())
            if refs.get(ref) != old
        ]
        if moved:
            return "; ".join(moved)  # another writer moved it first: re-read and try again
        detail = done.stderr.decode(errors="replace").strip()
        raise GitError(f"git update-ref failed in {self.bare.repo}: {detail}")
