"""Eligibility and approval: may this release enter this stage now? Pure functions of the
pipeline file, the ledger and the clock, so they are tested table by table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.definition import Pipeline, Promotion, Stage
from pipeline.promote.history import LedgerView


@dataclass(frozen=True)
class Verdict:
    """A gate's answer: ``ok``, ``wait`` (soak not over yet), ``refuse`` or, for the approval
    of a stage promoted by pull request, ``propose`` (its merge will approve it); with the
    reason."""

    gate: str
    outcome: str
    reason: str

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def upstream_verdict(
    pipeline: Pipeline,
    index: int,
    release: str,
    view: LedgerView,
    now: datetime,
    walked: frozenset[str] = frozenset(),
) -> Verdict:
    """Stage ``index`` needs the release verified in the stage before it, soaked if required.

    ``walked`` are stages this same promotion deploys first: they will have been verified just
    before, which only satisfies a stage whose upstream does not soak.
    """
    if index == 0:
        return Verdict("upstream", "ok", "first stage of the pipeline")
    upstream: Stage = pipeline.stages[index - 1]
    stage = pipeline.stages[index]
    soak = timedelta(minutes=upstream.soak_minutes)
    if upstream.stack in walked:
        if soak:
            return Verdict(
                "soak",
                "refuse",
                f"{upstream.stack} soaks a release {upstream.soak_minutes} min before it moves on:"
                f" promote to {upstream.stack} first, then to {stage.stack} once the soak is over",
            )
        return Verdict("upstream", "ok", f"verified in {upstream.stack} by this promotion")
    verified = view.verified_at(upstream.stack, release)
    if verified is None:
        return Verdict(
            "upstream",
            "refuse",
            f"{release} is not verified in {upstream.stack}; stages are not skipped"
            f" (promote to {upstream.stack} first)",
        )
    left = verified + soak - now
    if left > timedelta(0):
        minutes = int(left.total_seconds() // 60) + 1
        return Verdict(
            "soak",
            "wait",
            f"{release} has soaked in {upstream.stack} since {verified:%Y-%m-%d %H:%M} UTC;"
            f" {minutes} of {upstream.soak_minutes} min left",
        )
    return Verdict("upstream", "ok", f"verified in {upstream.stack} at {verified:%Y-%m-%d %H:%M}")


@dataclass(frozen=True)
class CodeReview:
    """Whether a release's infrastructure commit is on the protected branch."""

    commit: str
    branch: str
    reviewed: bool


def reviewed_verdict(stage: Stage, release: str, code: CodeReview) -> Verdict | None:
    """A stage that takes only reviewed code (``reviewedCode``, default staging and live)
    refuses a release built from a commit the protected branch does not contain."""
    if not stage.needs_reviewed_code():
        return None
    if code.reviewed:
        return Verdict("reviewed", "ok", f"commit {code.commit[:12]} is on {code.branch}")
    return Verdict(
        "reviewed",
        "refuse",
        f"{release} was built from commit {code.commit[:12]}, which is not on {code.branch}"
        f" (the protected branch); {stage.stack} takes only reviewed code: merge it, then"
        " release the merge",
    )


def approval_needed(stage: Stage, auto: bool) -> str | None:
    """Why ``stage`` needs a named approver, or None.

    A stage with ``approval: required`` always does, unless continuous deployment (``--auto``)
    runs and the stage allows it (``autoPromote``). Under ``--auto`` a stage without
    ``autoPromote`` is where continuous deployment stops: it too needs an approver.
    """
    if auto and stage.auto_promote:
        return None
    if stage.approval == "required":
        return f"{stage.stack} requires approval"
    if auto:
        return f"{stage.stack} does not allow continuous deployment (autoPromote is off)"
    return None


def approval_verdict(
    stage: Stage, auto: bool, approver: str | None, reviewer: str | None = None
) -> Verdict:
    """``approver``: who approved (``--approver`` or a confirmation); it never approves a stage
    promoted by pull request: only ``reviewer``, who merged its proposal, does; else the stage
    is proposed."""
    if stage.promotion is Promotion.PULL_REQUEST:
        if reviewer:
            return Verdict("approval", "ok", f"approved by {reviewer} (merged its pull request)")
        return Verdict(
            "approval",
            "propose",
            f"{stage.stack} is promoted by pull request: its next record is proposed and the"
            " merge by a reviewer who is not its author approves it",
        )
    reason = approval_needed(stage, auto)
    if reason is None:
        why = "autoPromote under --auto" if auto else "no approval required"
        return Verdict("approval", "ok", why)
    if approver:
        return Verdict("approval", "ok", f"approved by {approver}")
    return Verdict(
        "approval",
        "refuse",
        f"{reason}: pass --approve --approver NAME, or confirm on a terminal",
    )


def direction_verdict(
    stage: str,
    release: str,
    holds: str | None,
    view: LedgerView,
    created: dict[str, str],
    rollback: bool,
) -> Verdict:
    """Forward promotions only move forward; ``--rollback`` only returns to a verified release.

    ``holds`` is the release the stage runs now; ``created`` maps known release ids to their
    creation time (ISO 8601 strings compare in time order).
    """
    if rollback:
        if holds == release:
            return Verdict("rollback", "refuse", f"{stage} already runs {release}")
        if not view.ever_verified(stage, release):
            return Verdict(
                "rollback",
                "refuse",
                f"{release} was never verified in {stage}; a rollback returns to a release"
                " that ran there",
            )
        return Verdict("rollback", "ok", f"{release} was verified in {stage} before")
    if holds is None or holds == release:
        return Verdict("direction", "ok", "forward")
    replaced = view.ever_verified(stage, release) and (
        (last := view.last_verified(stage)) is not None and last.get("release") != release
    )
    known = holds in created and release in created
    if known and created[release] < created[holds]:
        return Verdict(
            "direction",
            "refuse",
            f"{stage} runs {holds}, newer than {release}; going back needs --rollback",
        )
    if replaced and known:
        # The stage moved from this release back to an older one: a rollback happened.
        return Verdict(
            "direction",
            "refuse",
            f"{stage} was rolled back from {release} to the older {holds}; promote a newer"
            f" release, or return to {release} with --rollback",
        )
    if replaced:
        # No creation times to order them by: say what the ledger shows, not which is newer.
        return Verdict(
            "direction",
            "refuse",
            f"{stage} ran {release} before and now runs {holds}; returning to {release}"
            " needs --rollback",
        )
    return Verdict("direction", "ok", "forward")
