"""The record of a ``--state-dir DIR`` as tests read it: through the git record the commands
open (pipeline.record.local), never the directory's files, which are git's now."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeline.promote.ledger import chain_entry, entry_line
from pipeline.promote.release import Release
from pipeline.promote.stage_record import StageRecord
from pipeline.record.layout import BLOCK, LEDGER_DIR, block_of, placed, seq_of
from pipeline.record.local import BARE, LocalGitState
from pipeline.record.refs import ENTRY_TRAILER, STATE_REF
from tests.promote.typed_entries import stored


def record(state_dir: Path) -> LocalGitState:
    """The directory's record, opened as ``--state-dir DIR`` opens it (made if missing)."""
    return LocalGitState(state_dir)


def recorded(state_dir: Path) -> bool:
    """Whether anything opened a record in the directory (without making one)."""
    return (state_dir / BARE).exists()


def ledger_entries(state_dir: Path) -> list[dict[str, Any]]:
    """Every ledger entry, oldest first ([] when the directory holds no record)."""
    return stored(record(state_dir).entries()) if recorded(state_dir) else []


def release(state_dir: Path, release_id: str) -> Release:
    return record(state_dir).releases.get(release_id)


def stage_record(state_dir: Path, stack: str) -> StageRecord | None:
    return record(state_dir).stage_record(stack)


def _bare(state_dir: Path, *args: str) -> str:
    """``git`` in the directory's bare repository, read only ('' when there is none yet)."""
    if not recorded(state_dir):
        return ""
    done = subprocess.run(
        ["git", "-C", str(state_dir / BARE), *args], capture_output=True, text=True
    )
    return done.stdout if done.returncode == 0 else ""


def entry_count(state_dir: Path) -> int:
    """How many ledger entries the record holds, counted from its commits (no lock taken, so a
    test may poll it while a promotion runs)."""
    return _bare(state_dir, "log", "--format=%B", STATE_REF).count(f"{ENTRY_TRAILER}: ")


def lock_holder(state_dir: Path, pipeline: str) -> dict[str, Any] | None:
    """Who holds the pipeline lock in the record (None: nobody)."""
    raw = _bare(state_dir, "show", f"{STATE_REF}:locks/{pipeline}.json")
    return json.loads(raw) if raw else None


def ledger_lines(state_dir: Path) -> list[bytes]:
    """Every entry's line as the record stores it (its entry file, or its line of a sealed
    segment, pipeline.record.layout), oldest first, each ending in a newline."""
    paths = _bare(state_dir, "ls-tree", "-r", "--name-only", STATE_REF, "--", LEDGER_DIR + "/")
    found: list[tuple[int, bytes]] = []
    for path in paths.split():
        raw = subprocess.run(
            ["git", "-C", str(state_dir / BARE), "show", f"{STATE_REF}:{path}"],
            capture_output=True,
            check=True,
        ).stdout
        block, seq = block_of(path), seq_of(path)
        if block is not None:
            lines = raw.splitlines(keepends=True)
            found += [(block * BLOCK + k, line) for k, line in enumerate(lines)]
        elif seq is not None:
            found.append((seq, raw))
    return [line for _, line in sorted(found)]


def tamper(state_dir: Path, changes: dict[str, bytes | None], what: str) -> None:
    """Edit the record as someone with write access to the directory could: a commit on its
    tip changing ``changes`` (paths of the state's tree), pushed as a normal write would be."""
    state = record(state_dir)
    state.sync()
    assert state.write(changes, f"{what}\n"), "the tampering commit was pushed"


def rewrite_consistently(state_dir: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Rewrite every entry with ``edit`` and recompute the whole chain (seq, prev, hash), so
    the ledger alone verifies; only the record's history can tell."""
    state = record(state_dir)
    entries, last = state.entries(), None
    lines: list[str] = []
    for entry in entries:
        fields = {k: v for k, v in entry.stored().items() if k not in ("seq", "prev", "hash")}
        edit(fields)
        last = chain_entry(fields, last)
        lines.append(entry_line(last).decode().rstrip("\n"))
    listed = _bare(state_dir, "ls-tree", "-r", "--name-only", STATE_REF, "--", LEDGER_DIR + "/")
    old: dict[str, bytes | None] = dict.fromkeys(listed.split())
    tamper(state_dir, {**old, **placed(lines)}, "rewritten")


def record_refs(state_dir: Path) -> dict[str, str]:
    """Every ref of the directory's bare repository and its commit: a write moves one."""
    out = _bare(state_dir, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(line.split() for line in out.splitlines())
