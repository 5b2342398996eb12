"""One walk: the resolver turns a promotion request into a ``Walk`` (pipeline and target
checks, the release lookup, the planner's walk and its gates), for ``promote``, ``--rehearse``
and ``status`` alike, so they cannot disagree about which stages move and why."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import UTC, datetime

from pipeline.definition import Pipeline, PipelineFile, Promotion, Stage
from pipeline.promote.entries import StartEntry
from pipeline.promote.events import Sink, quiet
from pipeline.promote.gates import CodeReview, Verdict
from pipeline.promote.history import LedgerView, Unfinished
from pipeline.promote.model import GateOutcome
from pipeline.promote.planner import PlannedWalk, plan_walk
from pipeline.promote.release import Release, ReleaseError
from pipeline.promote.state import PromotionState, StateError
from pipeline.promote.walk import Governed, PromotionError, Request, Walk
from pipeline.record.proposal import ProposalError
from pipeline.usage import one_of

Confirm = Callable[[str, str, str], str | None]
"""(stage, release, reason) -> approver name, or None when declined."""
Holds = Callable[[str], str | None]
"""The release a stage runs now."""


class Resolver:
    """Checks a request against the pipeline, the shared record and what the stages run."""

    def __init__(
        self,
        definition: PipelineFile,
        state: PromotionState,
        holds: Holds | None = None,
        *,
        services: Collection[str] | None = None,
        governance: Governed | None = None,
        confirm: Confirm | None = None,
        emit: Sink = quiet,
    ) -> None:
        self.definition = definition
        self.state = state
        self.holds = holds
        self.services = services
        self.governance = governance
        self.confirm = confirm
        self.emit = emit

    def pipeline_named(self, name: str | None) -> tuple[str, Pipeline]:
        pipelines = self.definition.pipelines
        chosen = name or next(iter(pipelines))
        if chosen not in pipelines:
            raise PromotionError(
                f"stacks/pipeline.yaml: pipelines.{chosen}: no such pipeline;"
                f" expected one of {one_of(sorted(pipelines))}"
            )
        return chosen, pipelines[chosen]

    def view(self) -> LedgerView:
        try:
            check = self.state.verify()
        except StateError as exc:
            raise PromotionError(f"{exc}\nnothing was deployed") from None
        if not check.ok:
            raise PromotionError(
                "the ledger does not verify; nothing was deployed:\n  "
                + "\n  ".join(check.problems)
            )
        for note in check.notes:  # e.g. a torn last line: this promotion's first append cuts it
            self.emit("note", message=f"{note}")
        return LedgerView(self.state.decisive())

    def _holds(self) -> Holds:
        if self.holds is None:
            raise TypeError("Resolver.plan: no holds given, none to fall back to")
        return self.holds

    def target(self, request: Request) -> tuple[str, Pipeline, Stage]:
        """The request's pipeline and its target stage, or PromotionError."""
        name, pipeline = self.pipeline_named(request.pipeline)
        order = [s.stack for s in pipeline.stages]
        if request.target not in order:
            raise PromotionError(
                f"stacks/pipeline.yaml: pipelines.{name}.stages: no stage {request.target!r};"
                f" expected one of {one_of(order)}"
            )
        return name, pipeline, pipeline.stages[order.index(request.target)]

    def release(self, request: Request) -> Release:
        """The release the request names, with an image for each service the blueprint runs
        (when the blueprint's services are known)."""
        try:
            release = self.state.releases.get(request.release)
        except ReleaseError as exc:
            raise PromotionError(str(exc)) from None
        if self.services is not None and set(release.images) != set(self.services):
            raise PromotionError(
                f"release {release.id} has images for {one_of(sorted(release.images))} but the"
                f" blueprint runs {one_of(sorted(self.services))}"
            )
        return release

    def plan(
        self,
        pipeline: Pipeline,
        request: Request,
        release: Release | None,
        view: LedgerView,
        holds: Holds | None = None,
        reviewer: str | None = None,
        now: datetime | None = None,
    ) -> PlannedWalk:
        """The planner's walk and each stage's gate verdicts (``holds``: this resolver's
        unless given, e.g. a rehearsal's reading of the record; ``release`` None: a release
        the record does not hold, whose code review is then unknown)."""
        return plan_walk(
            pipeline,
            request.target,
            request.release if release is None else release.id,
            holds or self._holds(),
            view,
            {r.id: r.created for r in self.state.releases.all()},
            now or datetime.now(UTC),  # the soak runs on the real clock, from the recorded time
            rollback=request.rollback,
            auto=request.auto,
            approver=request.approver,
            reviewer=reviewer,
            code=None if release is None else self._code_review(release),
            override=request.freeze_override,
        )

    def candidate(
        self, pipeline: Pipeline, view: LedgerView, target: str, release: str, holds: Holds
    ) -> PlannedWalk:
        """``promote RELEASE --to TARGET``'s walk as ``status`` shows it (no approver yet)."""
        try:
            stored: Release | None = self.state.releases.get(release)
        except (ReleaseError, StateError):
            stored = None
        return self.plan(pipeline, Request(release, target), stored, view, holds)

    def resolve(self, request: Request) -> Walk:
        """Check the request against the pipeline, the ledger and the stacks; raise
        PromotionError (nothing deployed, nothing written) when it may not go ahead."""
        name, pipeline, target = self.target(request)
        order = [s.stack for s in pipeline.stages]
        release = self.release(request)
        by_pull_request = target.promotion is Promotion.PULL_REQUEST
        if request.merged and not by_pull_request:
            raise PromotionError(
                f"--merged: {request.target} is promoted directly, not by pull request"
                f" (stacks/pipeline.yaml: pipelines.{name}: promotion)"
            )
        view = self.view()
        unfinished = view.unfinished(name)
        same = (
            unfinished is not None
            and unfinished.release == release.id
            and unfinished.target == request.target
            and unfinished.rollback == request.rollback
        )
        if same and by_pull_request and not request.merged:
            raise PromotionError(
                f"refused, nothing proposed:\n  the deployment of the merged proposal of"
                f" {release.id} to {request.target} was interrupted: run `promote {release.id}"
                f" --to {request.target} --merged{' --rollback' if request.rollback else ''}`"
                " to resume it"
            )
        if unfinished is not None and same:
            walk_stages = [pipeline.stages[order.index(s)] for s in self._walk_of(unfinished)]
            start = self._start_of(unfinished)
            return Walk(
                name,
                release,
                walk_stages,
                start.approver,
                {},
                resume=unfinished,
                review=start.review,
            )
        review, unreviewed = None, None
        if request.merged:
            try:
                review = self.state.review(
                    request.target, release, request.forge, rollback=request.rollback
                ).to_record()
            except ProposalError as exc:
                # Deployed already (a second run after the merge): nothing to do, see below.
                unreviewed = PromotionError(f"refused, nothing deployed:\n  {exc}")
                if not self._runs_recorded(request.target, release.id):
                    raise unreviewed from None

        reviewer = review["reviewer"] if review else None
        planned = self.plan(pipeline, request, release, view, reviewer=reviewer)
        if unreviewed is not None and planned.stages:
            raise unreviewed
        self._check_pull_requests(request, planned.stages)
        verdicts = planned.verdicts
        approver = review["reviewer"] if review else request.approver
        problems = planned.problems()
        needs_confirmation = planned.approvals_needed()
        if problems:
            problems += [
                f"{stage.stack}: approval: {reason}" for stage, reason in needs_confirmation
            ]
            raise PromotionError("refused, nothing deployed:\n  " + "\n  ".join(problems))
        for stage, reason in needs_confirmation:
            name_given = self.confirm(stage.stack, release.id, reason) if self.confirm else None
            if not name_given:
                raise PromotionError(f"refused, nothing deployed:\n  {stage.stack}: {reason}")
            approver = name_given
            verdicts[stage.stack][-1] = Verdict(
                "approval", GateOutcome.OK, f"confirmed by {approver}"
            )
        return Walk(
            name,
            release,
            planned.stages,
            approver,
            verdicts,
            None,
            unfinished,
            proposal=bool(planned.proposals()),
            review=review,
            rollback=request.rollback,
        )

    def _code_review(self, release: Release) -> CodeReview | None:
        if self.governance is None:
            return None
        reviewed = self.governance.reviewed(release.commit)
        return CodeReview(release.commit, self.governance.where, reviewed)

    def _runs_recorded(self, stack: str, release: str) -> bool:
        """Whether the stage's record says it runs ``release``, with no merge waiting."""
        record = self.state.stage_record(stack)
        return record is not None and record.release == release and record.pending_merge is None

    @staticmethod
    def _check_pull_requests(request: Request, stages: list[Stage]) -> None:
        """A stage promoted by pull request is proposed (or deployed from its merge) on its
        own, once every stage before it runs the release; only its merge approves it."""
        walk = [s.stack for s in stages]
        for stage in (s for s in stages if s.promotion is Promotion.PULL_REQUEST):
            if request.approver:
                raise PromotionError(
                    f"refused, nothing deployed:\n  {stage.stack}: --approver does not approve"
                    " a stage promoted by pull request; the merge of its proposal by a reviewer"
                    " does (run without --approve to propose it)"
                )
            if walk != [stage.stack]:
                before = walk[: walk.index(stage.stack)] or walk
                raise PromotionError(
                    f"refused, nothing deployed:\n  {stage.stack} is promoted by pull request on"
                    f" its own: promote {request.release} to {before[-1]} first"
                )

    @staticmethod
    def _start_of(unfinished: Unfinished) -> StartEntry:
        return unfinished.start

    @classmethod
    def _walk_of(cls, unfinished: Unfinished) -> list[str]:
        return list(cls._start_of(unfinished).stages)
