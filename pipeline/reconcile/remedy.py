"""What reconcile does about a drifted stage, per the pipeline file (``reconcile`` of a stage)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Remedy(StrEnum):
    HEAL = "heal"
    """Run ``up`` from the stage's record with the policy pack, then verify."""
    PROPOSE = "propose"
    """Say what drifted and wait: the heal runs once someone approves it."""
    REPORT = "report"
    """Record and announce the drift; change nothing."""


class _Stage(Protocol):
    @property
    def reconcile(self) -> Remedy | None: ...
    @property
    def approval(self) -> str: ...
    @property
    def promotion(self) -> str: ...
    @property
    def auto_promote(self) -> bool: ...


def remedy_of(stage: _Stage) -> Remedy:
    """The stage's ``reconcile`` setting, else: propose where a release needs approval (or a
    pull request) to enter, heal where releases enter by themselves (autoPromote), else report."""
    if stage.reconcile is not None:
        return stage.reconcile
    if stage.approval == "required" or stage.promotion == "pullRequest":
        return Remedy.PROPOSE
    return Remedy.HEAL if stage.auto_promote else Remedy.REPORT
