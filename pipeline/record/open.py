"""The promotion record the record options name, for every command that reads or writes it:
``--state-dir DIR``, a git record in a bare repository under DIR (pipeline.record.local), else
the git state shared on ``--remote`` of the checkout ``--repo`` (pipeline.record.state)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipeline.promote.state import PromotionState
from pipeline.record.local import LocalGitState
from pipeline.record.state import GitState


def open_record(args: argparse.Namespace) -> PromotionState:
    """The record of ``args`` (``state_dir``, ``repo``, ``remote``); raises StateError when it
    cannot be opened (no such remote, a directory whose old ledger does not verify)."""
    if args.state_dir:
        return LocalGitState(Path(args.state_dir))
    return GitState(Path(args.repo), args.remote)
