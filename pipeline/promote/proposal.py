"""A stage promoted by pull request: promote proposes its next record instead of deploying."""

from __future__ import annotations

from pipeline.promote.deployer import ReleaseConfig
from pipeline.promote.events import Sink
from pipeline.promote.model import PromotionOutcome, StageOutcome
from pipeline.promote.outcome import Outcome
from pipeline.promote.state import PromotionState, RecordRefusedError, StateError
from pipeline.promote.steps.up import commit_of, stage_change
from pipeline.promote.walk import Walk
from pipeline.record.proposal import ProposalError, proposal_branch


def propose(state: PromotionState, emit: Sink, walk: Walk) -> Outcome:
    """Push the proposal of the walk's one stage; nothing deployed, nothing in the ledger."""
    stage = walk.stages[0]
    release = walk.release
    kind = "rollback" if walk.rollback else "forward"
    branch = proposal_branch(stage.stack, release.id, kind)
    target = ReleaseConfig(release.id, release.images)
    change = stage_change(
        walk, branch, stage.stack, kind, target, commit_of(state.releases, release.id)
    )
    try:
        proposal = state.propose(change)
    except ProposalError as exc:
        return Outcome.of(PromotionOutcome.REFUSED, f"refused, nothing proposed:\n  {exc}")
    except RecordRefusedError as exc:
        return Outcome.of(PromotionOutcome.BUSY, str(exc))
    except StateError as exc:
        return Outcome.of(PromotionOutcome.STOPPED, f"{exc}\nnothing proposed")
    emit("proposal", **proposal.to_json())
    said = "was proposed already" if proposal.existing else "proposed"
    what = (
        f"the rollback of {stage.stack} to {release.id} {said}"
        if walk.rollback
        else f"{release.id} {said} for {stage.stack}"
    )
    message = (
        f"{what} on {proposal.branch} ({proposal.commit[:12]}); nothing deployed. Open its"
        f" pull request into stages/{stage.stack}:\n  {proposal.pr_command()}\nMerging it (a"
        " merge commit, by a reviewer who is not its author) approves it; then"
        f" `{proposal.deploy_command()}` deploys it."
    )
    return Outcome.of(PromotionOutcome.PROPOSED, message, {stage.stack: StageOutcome.PROPOSED})
