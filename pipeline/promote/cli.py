"""Subcommands ``release``, ``promote``, ``status``, ``history``, ``metrics``, ``ledger``,
``stages`` and ``record``: the names other modules import, re-exported from
``pipeline.promote.commands`` (parsing, wiring and one module per command family)."""

from __future__ import annotations

from pipeline.promote.commands.inputs import PROJECT_DIR
from pipeline.promote.commands.parsing import PROMOTE_EXITS, READ_EXITS, register
from pipeline.promote.commands.reading import HISTORY_SHOWN
from pipeline.promote.commands.wiring import (
    PULUMI_MISSING,
    GovernedElsewhereError,
    make_deployer,
)

__all__ = [
    "HISTORY_SHOWN",
    "PROJECT_DIR",
    "PROMOTE_EXITS",
    "PULUMI_MISSING",
    "READ_EXITS",
    "GovernedElsewhereError",
    "make_deployer",
    "register",
]
