"""Parity: how the rendered stages of one pipeline differ, and whether each difference is allowed.

Resources are matched across stages by their URN with the stack name taken out. Values are
compared after the stage's identity (stack, stage, domain, region) and release (id, digests) are
replaced by placeholders, so what remains is shape and scale. A remaining difference is
*allowed* when the substrate's binding table ties the property to a scale key the pipeline lets
those stages set, *identity* when it is tied to identity (CIDR, tags), *substrate* when a stack
held to another pipeline's shape (a local stack, a pipeline's ``comparesWith``) declared it, and
a *violation* otherwise, as is a resource missing from a stage.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from components import substrates
from components.bindings import Binding, binding_for
from components.spec import StageSpec
from components.spec.loader import PROJECT
from components.spec.model import digest_of
from pipeline.definition import PipelineFile
from pipeline.render import StageRender


@dataclass(frozen=True)
class Row:
    """One property of one resource that is not the same in every stage."""

    pipeline: str
    resource: str
    type: str
    property: str
    values: dict[str, Any]
    verdict: str  # allowed | identity | substrate | violation
    reason: str


@dataclass(frozen=True)
class Violation:
    stack: str
    urn: str
    property: str
    message: str


@dataclass
class ParityReport:
    rows: list[Row]
    violations: list[Violation]

    def to_json(self) -> dict[str, Any]:
        return {
            "matrix": [asdict(r) for r in self.rows],
            "violations": [asdict(v) for v in self.violations],
        }


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten inputs to dotted paths; JSON documents held in strings are opened up too."""
    if isinstance(value, str) and value[:1] in "[{":
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or {prefix: {}}
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}[{index}]"))
        return out or {prefix: []}
    return {prefix: value}


def _token_pattern(token: str, name_like: bool = False) -> re.Pattern[str]:
    if name_like:  # a stack or stage name starts a physical name: dev-network-vpc, role/dev-x,
        # or ends one before a path: arn:aws:s3:::bucket-local-dev/*
        word = re.escape(token)
        return re.compile(rf"(?<![A-Za-z0-9/.]){word}(?=[-:\s/]|$)|(?<=/){word}(?=-)")
    return re.compile(rf"(?<![A-Za-z0-9]){re.escape(token)}(?![A-Za-z0-9])")


def substitutions(spec: StageSpec) -> list[tuple[re.Pattern[str], str]]:
    """Identity and release values of a stage, most specific first, with their placeholders."""
    identity = spec.identity
    pairs = [(identity.domain, "{domain}", False), (identity.region, "{region}", False)]
    pairs += [(digest_of(i), f"{{digest:{n}}}", False) for n, i in spec.release.images.items()]
    pairs += [(identity.stack, "{stack}", True), (identity.stage, "{stage}", True)]
    if spec.release.id not in {identity.stack, identity.stage}:
        pairs.append((spec.release.id, "{release}", True))
    seen: set[str] = set()
    out = []
    # Longest first: a token inside a longer one (a Docker stage's region "local" inside its stack
    # "local-dev") must not take part of the longer one's place.
    for token, placeholder, name_like in sorted(pairs, key=lambda p: -len(p[0] or "")):
        if token and token not in seen:
            seen.add(token)
            out.append((_token_pattern(token, name_like), placeholder))
    # Names that allow only letters and digits (Azure storage accounts, registries) start with
    # the stack name without its punctuation: azure-dev -> azuredevst1a2b3c4d.
    compact = re.sub(r"[^a-z0-9]", "", identity.stack.lower())
    if compact and compact != identity.stack:
        out.append((re.compile(rf"(?<![A-Za-z0-9.]){re.escape(compact)}(?=[a-z0-9])"), "{stack}"))
    return out


def normalize(value: Any, subs: list[tuple[re.Pattern[str], str]]) -> Any:
    if isinstance(value, str):
        for pattern, placeholder in subs:
            value = pattern.sub(placeholder, value)
    return value


def resource_key(urn: str, stack: str) -> str:
    """``qualified-type::name`` with the stack name replaced, the same in every stage."""
    qualified, name = urn.split("::")[2], urn.split("::")[3]
    if name == stack:
        name = "{stack}"
    elif name.startswith(f"{stack}-"):
        name = "{stack}-" + name[len(stack) + 1 :]
    return f"{qualified}::{name}"


def _properties(
    resource: dict[str, Any], subs: list[tuple[re.Pattern[str], str]]
) -> dict[str, Any]:
    props = flatten(resource.get("inputs", {}))
    for option, value in resource.get("options", {}).items():
        props[f"options.{option}"] = value
    return {path: normalize(v, subs) for path, v in props.items()}


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value)


_ABSENT = object()


def _classify(
    binding: Binding | None, stacks: list[str], definition: PipelineFile
) -> tuple[str, str]:
    if binding is None:
        return "violation", "not a scale key: shape must be the same in every stage"
    kind, _, key = binding.source.partition(":")
    if kind == "identity":
        return "identity", f"identity: {key}"
    refused = [s for s in stacks if not definition.allows(s, key)]
    if refused:
        return "violation", f"scale key {key} is not one that {', '.join(refused)} may set"
    return "allowed", f"scale: {key}"


def _reference(values: dict[str, Any], order: list[str]) -> Any:
    """The value most stages hold; a tie goes to the stage latest in the pipeline."""
    counts = Counter(json.dumps(v, sort_keys=True, default=str) for v in values.values())
    best = max(counts.values())
    for stack in reversed(order):
        if counts[json.dumps(values[stack], sort_keys=True, default=str)] == best:
            return values[stack]
    return next(iter(values.values()))


def compare_resources(
    pipeline: str,
    stacks: list[str],
    renders: Mapping[str, StageRender],
    specs: Mapping[str, StageSpec],
    definition: PipelineFile,
) -> ParityReport:
    """Resource-level parity among stages of one pipeline (one substrate)."""
    rows: list[Row] = []
    violations: list[Violation] = []
    if len(stacks) < 2:
        return ParityReport(rows, violations)
    # The substrate's own table, imported on use: a diff's flatten needs no SDK.
    table = substrates.get(specs[stacks[0]].identity.cloud).binding_table()
    index: dict[str, dict[str, dict[str, Any]]] = {}
    for stack in stacks:
        for resource in renders[stack].resources:
            index.setdefault(resource_key(resource["urn"], stack), {})[stack] = resource
    subs = {stack: substitutions(specs[stack]) for stack in stacks}

    for key, present in index.items():
        type_token = next(iter(present.values()))["type"]
        if len(present) < len(stacks):
            missing = [s for s in stacks if s not in present]
            verdict, reason = _classify(
                binding_for(table, type_token, "exists"), stacks, definition
            )
            if verdict == "violation":
                reason = f"resource missing from this stage (present in {', '.join(present)})"
            rows.append(
                Row(
                    pipeline,
                    key,
                    type_token,
                    "exists",
                    {s: s in present for s in stacks},
                    verdict,
                    reason,
                )
            )
            if verdict == "violation":
                some = next(iter(present.values()))
                for stack in missing:
                    urn = some["urn"].replace(
                        f"urn:pulumi:{next(iter(present))}::", f"urn:pulumi:{stack}::"
                    )
                    violations.append(Violation(stack, urn, "exists", reason))
        if len(present) < 2:
            continue
        props = {s: _properties(r, subs[s]) for s, r in present.items()}
        for path in sorted(set().union(*props.values())):
            values = {s: props[s].get(path, _ABSENT) for s in present}
            distinct = {json.dumps(v, sort_keys=True, default=str) for v in values.values()}
            if len(distinct) < 2:
                continue
            verdict, reason = _classify(
                binding_for(table, type_token, path), list(present), definition
            )
            shown = {s: (None if v is _ABSENT else v) for s, v in values.items()}
            rows.append(Row(pipeline, key, type_token, path, shown, verdict, reason))
            if verdict != "violation":
                continue
            reference = _reference(values, [s for s in stacks if s in present])
            odd = [s for s, v in values.items() if v != reference]
            for stack in odd:
                message = (
                    f"{path} is {_show(values[stack])} here but {_show(reference)} in "
                    f"{', '.join(s for s in present if s not in odd)}; {reason}"
                )
                violations.append(Violation(stack, present[stack]["urn"], path, message))
    return ParityReport(rows, violations)


def compare_shapes(
    pipeline: str,
    stacks: list[str],
    specs: Mapping[str, StageSpec],
    definition: PipelineFile,
) -> ParityReport:
    """Spec-level parity: the shape of every stage (stacks held to this pipeline included)
    must match."""
    rows: list[Row] = []
    violations: list[Violation] = []
    shapes = {s: flatten(specs[s].shape.model_dump(by_alias=True, mode="json")) for s in stacks}
    held = {
        s: bound[1]
        for s in stacks
        if (bound := definition.held_to(s)) is not None and bound[0] == pipeline
    }
    for path in sorted(set().union(*shapes.values())):
        values = {s: shapes[s].get(path, _ABSENT) for s in stacks}
        if len({json.dumps(v, default=str) for v in values.values()}) < 2:
            continue
        # The pipeline's own stages set the reference; a stack held to it from outside (a
        # local stack, a stage of a pipeline on another substrate) never outvotes them.
        pipeline_stacks = [s for s in stacks if s not in held] or stacks
        reference = _reference({s: values[s] for s in pipeline_stacks}, pipeline_stacks)
        odd = [s for s, v in values.items() if v != reference]
        declared = all(
            s in held and any(path == d or path.startswith(f"{d}.") for d in held[s]) for s in odd
        )
        verdict = "substrate" if declared else "violation"
        reason = (
            "declared substrate difference" if declared else "shape must be the same in every stage"
        )
        shown = {s: (None if v is _ABSENT else v) for s, v in values.items()}
        rows.append(
            Row(pipeline, "shape", f"{PROJECT}:spec", f"shape.{path}", shown, verdict, reason)
        )
        if not declared:
            for stack in odd:
                urn = (
                    f"urn:pulumi:{stack}::{PROJECT}::{PROJECT}:{specs[stack].identity.cloud}:"
                    f"Environment::{stack}"
                )
                violations.append(
                    Violation(
                        stack,
                        urn,
                        f"shape.{path}",
                        f"shape.{path} is {_show(values[stack])} here but {_show(reference)} in "
                        f"{', '.join(s for s in stacks if s not in odd)}; {reason}",
                    )
                )
    return ParityReport(rows, violations)


def parity(
    renders: Mapping[str, StageRender],
    specs: Mapping[str, StageSpec],
    definition: PipelineFile,
) -> ParityReport:
    """Parity for every pipeline among the rendered stacks."""
    report = ParityReport([], [])
    for name, pipeline in definition.pipelines.items():
        stages = [s.stack for s in pipeline.stages if s.stack in renders]
        # Held to this pipeline's shape from outside: local stacks and other pipelines' stages.
        local = [
            stack
            for _, stack in definition.stacks()
            if stack in renders
            and stack not in stages
            and (bound := definition.held_to(stack)) is not None
            and bound[0] == name
        ]
        for part in (
            compare_shapes(name, stages + local, specs, definition),
            compare_resources(name, stages, renders, specs, definition),
        ):
            report.rows += part.rows
            report.violations += part.violations
    return report
