"""One step of a stage, as the stage runner (pipeline.promote.runner) drives it.

The shape is Kargo's ``pkg/promotion`` step runner: a named unit with ``run(ctx)`` returning a
``StepResult`` (status, message, output). A step also says what completes it on resume
(``resume``) and what its failure does (``on_failure``: stop, restore the stack's config, or
roll the stage back). The runner, not the step, writes the started/completed/failed entries:
``start`` gives the started entry's fields (or ends the step at once, with no started entry),
``run`` does the work, and a result's ``output`` is the entry's fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pipeline.definition import Stage
from pipeline.promote.deployer import (
    Deployer,
    DeployError,
    PolicyOptions,
    Preview,
    ReleaseConfig,
)
from pipeline.promote.diff import running_config
from pipeline.promote.events import Sink
from pipeline.promote.images import Copier, ImageCopy
from pipeline.promote.model import Direction, StageOutcome, StepName, StepStatus
from pipeline.promote.state import PromotionState, StageChange
from pipeline.promote.verification import VerifyResult
from pipeline.promote.walk import Walk

Verifier = Callable[[str, Mapping[str, Any], str], VerifyResult]
Commands = Callable[[tuple[str, ...], str, str, Mapping[str, Any]], VerifyResult]


class FailureAction(StrEnum):
    """What a failed step does to its stage."""

    STOP = "stop"
    """Stop the promotion; nothing was changed that needs undoing."""
    RESTORE = "restore"
    """Put the stack's previous release config back, then stop (nothing was deployed)."""
    ROLL_BACK = "roll back"
    """A forward stage is returned to its last verified release by the same steps; a
    rollback that fails this way stops."""


@dataclass(frozen=True)
class OnFailure:
    action: FailureAction
    outcome: StageOutcome


@dataclass(frozen=True)
class StepResult:
    """What a step ended as: ``message`` is the reason a failure gives its stage (or what a
    completed step found), ``output`` the fields of its ledger entry (``detail`` and ``diff``
    are also said as events); ``change`` is the stage record that lands with the entry."""

    status: StepStatus
    message: str = ""
    output: Mapping[str, Any] = field(default_factory=dict)
    change: StageChange | None = None
    on_failure: OnFailure | None = None
    """Overrides the step's own (e.g. a stack busy with another update is BUSY, restored)."""

    @classmethod
    def started(cls, **output: Any) -> StepResult:
        return cls(StepStatus.STARTED, output=output)

    @classmethod
    def completed(
        cls, message: str = "", change: StageChange | None = None, **output: Any
    ) -> StepResult:
        return cls(StepStatus.COMPLETED, message, output, change)

    @classmethod
    def failed(cls, message: str, on_failure: OnFailure | None = None, **output: Any) -> StepResult:
        return cls(StepStatus.FAILED, message, output, on_failure=on_failure)

    @classmethod
    def skipped(cls, detail: str | None = None) -> StepResult:
        """Said as an event when it has a ``detail``, never recorded."""
        return cls(StepStatus.SKIPPED, output={"detail": detail} if detail else {})


@dataclass(frozen=True)
class Services:
    """What the steps work with: the engine, the shared record and the checks."""

    deployer: Deployer
    state: PromotionState
    emit: Sink
    policy: Callable[[str], PolicyOptions]
    verify: Verifier
    commands: Commands
    images: Copier | None
    """None: the deployer's registries are not real (e.g. the offline renderer's)."""


@dataclass
class StageContext:
    """One stage of one promotion, moving one way to ``target``; steps fill in what later
    steps use (``previous``, ``preview``, ``copies``)."""

    services: Services
    walk: Walk
    promotion: str
    stage: Stage
    kind: Direction
    target: ReleaseConfig
    done: set[str]
    """The steps this stage completed before an interruption (empty unless resuming)."""
    previous: ReleaseConfig | None = None
    """What the stack's config said before set-images (what RESTORE puts back)."""
    policy: PolicyOptions | None = None
    preview: Preview | None = None
    copies: list[ImageCopy] = field(default_factory=list)
    _observed: tuple[Mapping[str, Any], ReleaseConfig | None] | None = None

    @property
    def stack(self) -> str:
        return self.stage.stack

    def observed(self) -> tuple[Mapping[str, Any], ReleaseConfig | None]:
        """The stack's outputs before its update and the release config it runs (read once;
        the config set-images replaced when they cannot be read)."""
        if self._observed is None:
            try:
                outputs = self.services.deployer.outputs(self.stack)
                self._observed = (outputs, running_config(outputs))
            except DeployError:
                self._observed = ({}, self.previous)
        return self._observed


class Step(Protocol):
    """A step of a stage. Registered in ``pipeline.promote.steps.STEPS``, in the order a
    stage runs them."""

    name: StepName
    on_failure: OnFailure

    def resume(self, ctx: StageContext) -> StepResult | None:
        """None when the step must run (again); else it completed before the interruption and
        this is what resuming it does (a skip, or a failure, never recorded)."""
        ...

    def start(self, ctx: StageContext) -> StepResult:
        """STARTED with the started entry's fields, or the step's result when it ends before
        it starts anything (then there is no started entry)."""
        ...

    def run(self, ctx: StageContext) -> StepResult:
        """The step's work, after its started entry; COMPLETED or FAILED."""
        ...
