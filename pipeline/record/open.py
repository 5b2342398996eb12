"""The promotion record the record options name, for every command that reads or writes it:
``--state-dir DIR``, a git record in a bare repository under DIR (pipeline.record.local), else
the git state shared on ``--remote`` of the checkout ``--repo`` (pipeline.record.state)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from pipeline.promote.state import PromotionState
from pipeline.record.local import LocalGitState
from pipeline.record.state import GitState


@dataclass(frozen=True)
class RecordLocation:
    """Where a command's record is (pipeline.arguments.record_options): ``--state-dir``'s
    directory, else ``--remote`` of the checkout ``--repo``."""

    repo: Path
    remote: str
    state_dir: Path | None = None

    @classmethod
    def of(cls, args: argparse.Namespace) -> RecordLocation:
        state_dir = Path(args.state_dir) if args.state_dir else None
        return cls(Path(args.repo), args.remote, state_dir)


def open_record(where: RecordLocation) -> PromotionState:
    """The record ``where`` names; raises StateError when it cannot be opened (no such remote,
    a directory whose old ledger does not verify)."""
    if where.state_dir is not None:
        return LocalGitState(where.state_dir)
    return GitState(where.repo, where.remote)
