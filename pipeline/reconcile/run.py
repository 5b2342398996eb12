"""Reconcile the stages of one pipeline: per stage, compare what runs with the stage's record
(a refreshed preview), then heal, propose or report as the pipeline file says, and record it.

The pipeline's promotion lock is taken for the whole run: a stage in the middle of a promotion
(the lock is held, or the ledger shows a promotion that has not finished) is left alone, and
that is recorded too. Every stage gets one ledger entry (``step: reconcile``) whatever happened.

A stage whose remedy is propose gets a heal proposal (pipeline.reconcile.proposal) where the
state is git; once a reviewer merges it, a run with ``merged`` heals the stage from its record
and records the heal with the review, moving ``stages/<stack>`` past the merge.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from components.spec import SpecError
from pipeline.definition import Stage
from pipeline.promote.deployer import Change, DeployError, PolicyOptions
from pipeline.promote.entries import LedgerEntry, ReconcileEntry
from pipeline.promote.history import LedgerView
from pipeline.promote.lock import LockHeldError
from pipeline.promote.model import StepStatus
from pipeline.promote.state import PromotionState, StageChange, StateError
from pipeline.promote.verification import VerifyResult
from pipeline.reconcile.engine import DriftEngine
from pipeline.reconcile.outcome import Baseline, Outcome, StageResult, describe, drift_of
from pipeline.reconcile.proposal import HealProposal
from pipeline.reconcile.remedy import Remedy, remedy_of
from pipeline.reconcile.strays import remove_hint
from pipeline.record.git import GitError
from pipeline.record.proposal import ProposalError, Review

__all__ = ["Baseline", "MergedHeal", "Outcome", "Proposer", "Reconciler", "StageResult"]

Verifier = Callable[[str, Mapping[str, Any], str], VerifyResult]
Proposer = Callable[[str, tuple[Change, ...]], HealProposal]
"""Opens the heal proposal of a drifted stage (its stack, what drifted)."""
MergedHeal = Callable[[str], tuple[Review, StageChange]]
"""The reviewed merge of a stage's heal proposal, and the record to write once healed."""


@dataclass
class Reconciler:
    """One reconcile run over the stages of one pipeline."""

    engine: DriftEngine
    state: PromotionState
    pipeline: str
    baseline: Callable[[str], Baseline]
    """What a stage is compared with: its record, or the checkout for a stage never promoted."""
    policy: Callable[[str], PolicyOptions]
    verify: Verifier
    approver: str | None = None
    """Approves the heal of a stage whose remedy is propose (its proposal's approval)."""
    proposer: Proposer | None = None
    """Opens heal proposals (the git state); without it a proposed heal waits for approve."""
    merged: MergedHeal | None = None
    """Heal each stage from the reviewed merge of its heal proposal (``reconcile --merged``)."""
    on_result: Callable[[StageResult], None] = lambda result: None
    run_id: str = field(
        default_factory=lambda: f"c-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"
    )

    def run(self, stages: list[Stage]) -> list[StageResult]:
        """Reconcile ``stages`` (of this pipeline) under the pipeline's lock."""
        unfinished = LedgerView(self.state.decisive()).unfinished(self.pipeline)
        if unfinished is not None:
            why = (
                f"promotion {unfinished.promotion} of {unfinished.release} to"
                f" {unfinished.target} has not finished (resume it first)"
            )
            return [self._left_alone(s, why) for s in stages]
        lock = self.state.lock(self.pipeline)
        try:
            lock.acquire()
        except LockHeldError as exc:
            who = exc.owner.who("host", "pid", "started")
            why = f"a promotion holds the {self.pipeline} pipeline lock ({who})"
            return [self._left_alone(s, why) for s in stages]
        try:
            return [self._done(self._stage(s)) for s in stages]
        finally:
            # Left behind, it is stale once this process is gone: the next one takes it over.
            with contextlib.suppress(StateError):
                lock.release()

    def _left_alone(self, stage: Stage, why: str) -> StageResult:
        result = StageResult(stage.stack, remedy_of(stage), Outcome.LEFT_ALONE, None, why)
        return self._done(result)

    def _done(self, result: StageResult) -> StageResult:
        self.record(result)
        self.on_result(result)
        return result

    def record(self, result: StageResult) -> LedgerEntry:
        """The ledger entry of one stage's reconcile (``history`` shows it, ``metrics`` counts
        the drifted ones)."""
        status = {
            Outcome.LEFT_ALONE: StepStatus.SKIPPED,
            Outcome.FAILED: StepStatus.FAILED,
            Outcome.HEAL_FAILED: StepStatus.FAILED,
        }.get(result.outcome, StepStatus.COMPLETED)
        approver = str(result.review.reviewer) if result.review is not None else None
        if (
            self.approver
            and result.remedy is Remedy.PROPOSE
            and result.outcome
            in (
                Outcome.HEALED,
                Outcome.HEAL_FAILED,
            )
        ):
            approver = self.approver
        entry = ReconcileEntry(
            reconcile=self.run_id,
            pipeline=self.pipeline,
            stage=result.stack,
            release=result.release,
            status=status,
            outcome=str(result.outcome),
            remedy=str(result.remedy),
            drifted=result.drifted,
            detail=result.detail,
            drift=[c.to_json() for c in result.changes] if result.changes else None,
            proposal=(
                {"branch": result.proposal.branch, "commit": result.proposal.commit}
                if result.proposal is not None
                else None
            ),
            approver=approver,
            review=result.review.to_record() if result.review is not None else None,
        )
        done = {Outcome.HEALED, Outcome.IN_SYNC}
        return self.state.append(entry, result.record if result.outcome in done else None)

    def _stage(self, stage: Stage) -> StageResult:
        stack, remedy = stage.stack, remedy_of(stage)
        try:
            baseline = self.baseline(stack)
        except (StateError, SpecError) as exc:
            return StageResult(stack, remedy, Outcome.FAILED, None, f"record: {exc}")
        source, release, where = baseline.source, baseline.release, baseline.where
        if self.merged is not None:
            return self._merged(stage, remedy, baseline)
        try:
            changes = tuple(drift_of(self.engine.drift(stack, source)))
        except DeployError as exc:
            return StageResult(stack, remedy, Outcome.FAILED, release, f"preview: {exc}")
        if not changes:
            said = f"runs what {where} records ({release})"
            return StageResult(stack, remedy, Outcome.IN_SYNC, release, said)
        drift = f"drifted from {where} ({release}): {describe(changes)}"
        if remedy is Remedy.REPORT:
            return StageResult(stack, remedy, Outcome.REPORTED, release, drift, changes)
        if remedy is Remedy.PROPOSE and not self.approver:
            return self._propose(stack, remedy, release, drift, changes)
        return self._heal(stage, remedy, release, source, drift, changes)

    def _propose(
        self, stack: str, remedy: Remedy, release: str, drift: str, changes: tuple[Change, ...]
    ) -> StageResult:
        if self.proposer is None:  # a local state has no branches to propose on
            heal = f"reconcile --stage {stack} --approve --approver NAME"
            said = f"{drift}; its heal waits for approval: {heal}"
            return StageResult(stack, remedy, Outcome.PROPOSED, release, said, changes)
        try:
            proposal = self.proposer(stack, changes)
        except (ProposalError, StateError, GitError) as exc:
            said = f"{drift}; its heal could not be proposed: {exc}"
            return StageResult(stack, remedy, Outcome.FAILED, release, said, changes)
        opened = "was proposed already" if proposal.existing else "proposed"
        said = (
            f"{drift}; its heal {opened} on {proposal.branch} ({proposal.commit[:12]}): open its"
            f" pull request into stages/{stack} ({proposal.pr_command().partition(' --title')[0]});"
            f" merging it heals the stage (`{proposal.heal_command()}`)"
        )
        return StageResult(stack, remedy, Outcome.PROPOSED, release, said, changes, proposal)

    def _merged(self, stage: Stage, remedy: Remedy, baseline: Baseline) -> StageResult:
        """Heal from the reviewed merge of the stage's heal proposal; in sync or healed, the
        record moves past the merge (the review in it), else the merge stays pending."""
        assert self.merged is not None
        stack, release, source = stage.stack, baseline.release, baseline.source
        try:
            review, record = self.merged(stack)
        except (ProposalError, StateError, GitError) as exc:
            said = f"refused, nothing healed: {exc}"
            return StageResult(stack, remedy, Outcome.FAILED, release, said)
        try:
            changes = tuple(drift_of(self.engine.drift(stack, source)))
        except DeployError as exc:
            said = f"preview: {exc}"
            return StageResult(stack, remedy, Outcome.FAILED, release, said, (), None, review)
        approved = f"heal approved by {review.reviewer} (merge {review.merge[:12]})"
        if not changes:
            said = f"{approved}: runs what {baseline.where} records ({release}) already"
            return StageResult(
                stack, remedy, Outcome.IN_SYNC, release, said, (), None, review, record
            )
        drift = f"{approved}: drifted from {baseline.where} ({release}): {describe(changes)}"
        result = self._heal(stage, remedy, release, source, drift, changes)
        return StageResult(
            stack, remedy, result.outcome, release, result.detail, changes, None, review, record
        )

    def _heal(
        self,
        stage: Stage,
        remedy: Remedy,
        release: str,
        source: Path,
        drift: str,
        changes: tuple[Change, ...],
    ) -> StageResult:
        stack = stage.stack
        try:
            self.engine.heal(stack, source, self.policy(stack))
            outputs = self.engine.outputs(stack, source)
        except DeployError as exc:
            said = f"{drift}; heal failed: {exc}"
            return StageResult(stack, remedy, Outcome.HEAL_FAILED, release, said, changes)
        checked = self.verify(stack, outputs, release)
        if not checked.ok:
            said = f"{drift}; healed, but verification failed: {checked.detail}"
            return StageResult(stack, remedy, Outcome.HEAL_FAILED, release, said, changes)
        try:
            left = drift_of(self.engine.drift(stack, source))
        except DeployError as exc:
            said = f"{drift}; healed and verified, the preview after it failed: {exc}"
            return StageResult(stack, remedy, Outcome.HEAL_FAILED, release, said, changes)
        if left:
            said = f"{drift}; after the heal still {describe(left)}{remove_hint(left)}"
            return StageResult(stack, remedy, Outcome.HEAL_FAILED, release, said, changes)
        said = f"{drift}; healed from the record and verified ({checked.detail})"
        return StageResult(stack, remedy, Outcome.HEALED, release, said, changes)


def drift_metrics(entries: list[LedgerEntry], stage: str, days: int) -> dict[str, Any]:
    """Drift events of ``stage`` in the last ``days`` days, from the reconcile entries: how
    many reconciles found it drifted, and how many of those were healed."""
    since = datetime.now(UTC).timestamp() - days * 86400
    mine = [
        e
        for e in entries
        if isinstance(e, ReconcileEntry)
        and e.stage == stage
        and datetime.fromisoformat(e.time).timestamp() >= since
    ]
    drifted = [e for e in mine if e.drifted]
    return {
        "reconciles": len(mine),
        "driftEvents": len(drifted),
        "driftHealed": sum(1 for e in drifted if e.outcome == str(Outcome.HEALED)),
    }
