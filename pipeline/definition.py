"""The pipeline file (``stacks/pipeline.yaml``): stage order, soak, approval and scale keys."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

import pipeline.windows as windows
from components.bindings import glob_match
from components.spec.bounded import read_yaml
from components.spec.loader import PROJECT, Problem, SpecError
from pipeline.notify.config import Notifications
from pipeline.reconcile.remedy import Remedy

DEFAULT_FILE = "pipeline.yaml"
SCHEMA_FILE = "pipeline.schema.json"
REVIEWED_BY_DEFAULT = frozenset({"staging", "live"})
"""Stages that take only reviewed code unless their entry says otherwise (reviewedCode)."""


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Promotion(StrEnum):
    """How a release enters a stage."""

    DIRECT = "direct"
    """``promote`` deploys it and pushes the stage's record itself."""
    PULL_REQUEST = "pullRequest"
    """``promote`` proposes the stage's next record on a branch; the merge of that pull request
    into ``stages/<stack>`` by a reviewer who is not its author approves it, and
    ``promote --merged`` (CI, on the merge) deploys it (docs/promotion.md)."""


class Stage(_Model):
    stack: str = Field(description="Pulumi stack name (stacks/Pulumi.<stack>.yaml).")
    stage: str | None = Field(
        default=None,
        description=f"The stage this stack is (its stack file's {PROJECT}:stage must say the"
        " same; policy config and live's rules key on it). Default: the stack name.",
    )
    soak_minutes: int = Field(
        default=0, ge=0, description="Time a release must run here before it moves on."
    )
    approval: Literal["none", "required"] = "none"
    promotion: Promotion = Field(
        default=Promotion.DIRECT,
        description="direct: promote deploys and records it; pullRequest: promote proposes the"
        " stage's next record as a pull request into stages/<stack>, whose merge by a reviewer"
        " other than its author is the approval.",
    )
    auto_promote: bool = Field(
        default=False, description="Continuous deployment may skip approval."
    )
    scale_keys: tuple[str, ...] | None = Field(
        default=None, description="Scale keys this stage may set; default: the file's scaleKeys."
    )
    verify_commands: tuple[str, ...] = Field(
        default=(), description="Extra verification commands run after the health check."
    )
    upstream: tuple[str, ...] | None = Field(
        default=None,
        description="The stacks this stage waits for: a release enters it only once it is"
        " verified (and soaked) in every one of them (fan-in), so a pipeline can be a graph."
        " Each must come earlier in the list. Default: the stage before it.",
    )
    freeze: tuple[windows.FreezeWindow, ...] = Field(
        default=(),
        description="Weekly windows in which nothing is promoted into this stage, e.g."
        " {start: 'Fri 16:00', end: 'Mon 08:00', timeZone: 'Europe/Berlin'};"
        " promote --override-freeze REASON (with --approver) goes ahead, recorded.",
    )
    reviewed_code: bool | None = Field(
        default=None,
        description="A release may enter only when its infrastructure commit is reachable from"
        " the protected branch (merged through review). Default: true for the staging and live"
        " stages, false elsewhere.",
    )

    reconcile: Remedy | None = Field(
        default=None,
        description="What `reconcile` does when the stage drifts from its record: heal (up"
        " from the record, then verify), propose (wait for an approved heal) or report."
        " Default: propose where approval or a pull request is needed, heal where autoPromote,"
        " else report.",
    )

    def needs_reviewed_code(self) -> bool:
        if self.reviewed_code is not None:
            return self.reviewed_code
        return (self.stage or self.stack) in REVIEWED_BY_DEFAULT


class Pipeline(_Model):
    stages: tuple[Stage, ...] = Field(min_length=1)
    compares_with: str | None = Field(
        default=None,
        description="Another pipeline whose shape this one's stages must match (a pipeline on"
        " another substrate, e.g. the local Docker pipeline held to the aws one's shape).",
    )
    substrate_differences: tuple[str, ...] = Field(
        default=(),
        description="Shape keys where this pipeline's stages differ from comparesWith's because"
        " of the substrate, declared once (reported with the verdict substrate).",
    )

    @model_validator(mode="after")
    def _unique(self) -> Pipeline:
        stacks = [s.stack for s in self.stages]
        if len(set(stacks)) != len(stacks):
            raise ValueError("a stack appears twice in one pipeline")
        claimed: dict[str, str] = {}
        for stage in self.stages:
            name = stage.stage or stage.stack
            if name in claimed:
                raise ValueError(
                    f"stacks {claimed[name]!r} and {stage.stack!r} both claim stage {name!r}"
                )
            claimed[name] = stage.stack
        for index, stage in enumerate(self.stages):
            earlier = stacks[:index]
            for name in stage.upstream or ():
                if name not in earlier:
                    raise ValueError(
                        f"stage {stage.stack!r}: upstream {name!r} is not a stage before it in"
                        f" this pipeline (expected one of {earlier})"
                    )
        return self

    def upstream_of(self, stage: Stage) -> tuple[Stage, ...]:
        """The stages ``stage`` waits for: its ``upstream``, else the stage before it."""
        index = self.stages.index(stage)
        if stage.upstream is None:
            return self.stages[index - 1 : index] if index else ()
        by_stack = {s.stack: s for s in self.stages}
        return tuple(by_stack[name] for name in stage.upstream)

    def auto_targets(self) -> tuple[Stage, ...]:
        """The stages continuous deployment promotes to, in pipeline order: the furthest stages
        reached through auto-promoted stages only (no approval, no pull request), so a graph
        (staging fanning out to two auto stages) gives each branch its own target."""
        reached: set[str] = set()
        for stage in self.stages:
            automatic = (
                stage.auto_promote
                and stage.approval != "required"
                and stage.promotion is not Promotion.PULL_REQUEST
            )
            if automatic and all(u.stack in reached for u in self.upstream_of(stage)):
                reached.add(stage.stack)
        feeding = {u.stack for s in self.stages if s.stack in reached for u in self.upstream_of(s)}
        return tuple(s for s in self.stages if s.stack in reached and s.stack not in feeding)

    def ancestors(self, stack: str) -> list[Stage]:
        """The stages a release passes through to reach ``stack``, in pipeline order, with
        ``stack`` last (upstream stages, theirs, and so on)."""
        by_stack = {s.stack: s for s in self.stages}
        needed, todo = {stack}, [by_stack[stack]]
        while todo:
            for upstream in self.upstream_of(todo.pop()):
                if upstream.stack not in needed:
                    needed.add(upstream.stack)
                    todo.append(upstream)
        return [s for s in self.stages if s.stack in needed]


class LocalStage(_Model):
    """A stack rendered and compared with a pipeline, but outside promotion."""

    stack: str
    stage: str | None = Field(default=None, description="Its stage. Default: the stack name.")
    compares_with: str = Field(description="Pipeline whose shape this stack must match.")
    substrate_differences: tuple[str, ...] = Field(
        default=(), description="Shape keys that differ because of the substrate, declared once."
    )


class PipelineFile(_Model):
    scale_keys: tuple[str, ...]
    pipelines: dict[str, Pipeline] = Field(min_length=1)
    local: tuple[LocalStage, ...] = ()
    ignored: tuple[str, ...] = Field(
        default=(),
        description="Stacks whose stack file (stacks/Pulumi.<stack>.yaml) is deliberately in no"
        " pipeline: never rendered, checked or promoted. Any other stack file the file does not"
        " list is an error.",
    )
    notifications: Notifications | None = Field(
        default=None,
        description="A webhook told about promotions, rollbacks, reconciles and review stages"
        " (Slack- and Teams-compatible JSON; docs/promotion.md).",
    )

    @model_validator(mode="after")
    def _compared_pipelines_exist(self) -> PipelineFile:
        references = [
            (f"pipelines.{name}.comparesWith", p.compares_with)
            for name, p in self.pipelines.items()
            if p.compares_with is not None
        ] + [(f"local.{s.stack}.comparesWith", s.compares_with) for s in self.local]
        for where, target in references:
            if target not in self.pipelines or where == f"pipelines.{target}.comparesWith":
                raise ValueError(
                    f"{where}: expected another pipeline of this file"
                    f" ({', '.join(sorted(self.pipelines))}), got {target!r}"
                )
            further = self.pipelines[target].compares_with
            if further is not None:
                raise ValueError(
                    f"{where}: {target!r} is itself held to {further!r};"
                    " compare with that pipeline instead"
                )
        return self

    def stacks(self) -> Iterator[tuple[str, str]]:
        """(pipeline name, stack) for every stack, pipelines first, then local stacks."""
        for name, pipeline in self.pipelines.items():
            for stage in pipeline.stages:
                yield name, stage.stack
        for local in self.local:
            yield local.compares_with, local.stack

    def pipeline_of(self, stack: str) -> str | None:
        return next((p for p, s in self.stacks() if s == stack), None)

    def stage(self, stack: str) -> Stage | None:
        for pipeline in self.pipelines.values():
            for stage in pipeline.stages:
                if stage.stack == stack:
                    return stage
        return None

    def stage_name(self, stack: str) -> str | None:
        """The stage the pipeline file binds ``stack`` to (None: not in the file)."""
        bound = self.stage(stack) or self.local_stage(stack)
        if bound is None:
            return None
        return bound.stage or bound.stack

    def local_stage(self, stack: str) -> LocalStage | None:
        return next((s for s in self.local if s.stack == stack), None)

    def held_to(self, stack: str) -> tuple[str, tuple[str, ...]] | None:
        """(pipeline, declared substrate differences) when ``stack`` is held to the shape of a
        pipeline it is not a stage of: a local stack, or a stage of a pipeline that
        ``comparesWith`` another. None for a stage of a pipeline that compares with none."""
        local = self.local_stage(stack)
        if local is not None:
            return local.compares_with, local.substrate_differences
        for pipeline in self.pipelines.values():
            if pipeline.compares_with and any(s.stack == stack for s in pipeline.stages):
                return pipeline.compares_with, pipeline.substrate_differences
        return None

    def allowed_scale_keys(self, stack: str) -> tuple[str, ...]:
        stage = self.stage(stack)
        if stage is not None and stage.scale_keys is not None:
            return stage.scale_keys
        return self.scale_keys

    def allows(self, stack: str, scale_key: str) -> bool:
        """Whether ``stack`` may set ``scale_key`` (dotted, e.g. services.api.cpu)."""
        return any(glob_match(scale_key, p) for p in self.allowed_scale_keys(stack))


def unlisted_stack_files(stacks_dir: Path, definition: PipelineFile) -> list[SpecError]:
    """One error per stack file (``Pulumi.<stack>.yaml``) the pipeline file neither lists nor
    ignores: each would otherwise be skipped without a word (no validation, policy or parity)."""
    listed = {stack for _, stack in definition.stacks()} | set(definition.ignored)
    return [
        SpecError(
            str(path),
            [
                Problem(
                    "stack",
                    f"stack {stack!r} is in no pipeline of {stacks_dir / DEFAULT_FILE}: add it"
                    " to a pipeline (or local), list it under ignored, or delete the file",
                )
            ],
        )
        for path in sorted(stacks_dir.glob("Pulumi.*.yaml"))
        if (stack := path.name.removeprefix("Pulumi.").removesuffix(".yaml")) not in listed
    ]


def load_pipeline(stacks_dir: Path) -> PipelineFile:
    path = stacks_dir / DEFAULT_FILE
    doc = read_yaml(path, "pipelines")
    try:
        return PipelineFile.model_validate(doc or {})
    except ValidationError as exc:
        raise SpecError(
            str(path),
            [
                Problem(
                    ".".join(str(p) for p in e["loc"]) or "pipelines",
                    e["msg"].removeprefix("Value error, "),
                )
                for e in exc.errors()
            ],
        ) from None


def render_pipeline_schema() -> str:
    """The JSON Schema of ``stacks/pipeline.yaml`` (for editors; written by ``schema``)."""
    schema = PipelineFile.model_json_schema(by_alias=True)
    schema["title"] = "stacks/pipeline.yaml"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
