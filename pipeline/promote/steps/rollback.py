"""rollback: what a forward stage's failed update or verification does. The stage goes back
to its last verified release (else to what ran before this promotion) by the same steps,
recorded with kind ``rollback``, and the promotion stops there."""

from __future__ import annotations

from typing import Protocol

from pipeline.definition import Stage
from pipeline.promote.deployer import ReleaseConfig
from pipeline.promote.history import LedgerView
from pipeline.promote.model import EXIT_OK, Direction, StageOutcome
from pipeline.promote.outcome import Outcome
from pipeline.promote.release import ReleaseError
from pipeline.promote.steps.set_images import recorded_previous
from pipeline.promote.steps.step import Services
from pipeline.promote.walk import Walk


class Deploys(Protocol):
    """The stage runner, as a rollback drives it."""

    def deploy(
        self, walk: Walk, promotion: str, stage: Stage, kind: Direction, target: ReleaseConfig
    ) -> Outcome: ...


def rollback_target(
    services: Services, walk: Walk, promotion: str, stack: str
) -> ReleaseConfig | None:
    """The stage's last verified release other than the walk's, else the config this
    promotion's forward set-images replaced; None when there is neither."""
    view = LedgerView(services.state.decisive())
    last = view.last_verified(stack, other_than=walk.release.id)
    if last is not None:
        try:
            back = services.state.releases.get(last.release)
            return ReleaseConfig(back.id, back.images)
        except ReleaseError as exc:
            services.emit("note", stage=stack, message=f"cannot roll back: {exc}")
    # Never verified here before: return to what ran before this promotion.
    return recorded_previous(services.state, promotion, stack, Direction.FORWARD)


def roll_back(
    runner: Deploys, services: Services, walk: Walk, promotion: str, stage: Stage, why: str
) -> Outcome:
    """Return ``stage`` to its last verified release by the same path, then stop."""
    stack = stage.stack
    target = rollback_target(services, walk, promotion, stack)
    if target is None:
        return Outcome.of(StageOutcome.FAILED, f"{stack}: {why}; nothing to roll back to")
    services.emit("note", stage=stack, message=f"{why}; rolling back to {target.release}")
    result = runner.deploy(walk, promotion, stage, Direction.ROLLBACK, target)
    if result.code == EXIT_OK:
        return Outcome.of(
            StageOutcome.ROLLED_BACK,
            f"{stack}: {why}; rolled back to {target.release}; later stages untouched",
        )
    return Outcome.of(
        StageOutcome.ROLLBACK_FAILED,
        f"{stack}: {why}; rollback to {target.release} failed: {result.message}",
    )
