"""The desired-state diff of every stage between two rendered revisions.

Resources are matched by URN (the same stack at both revisions). A resource is *added*,
*removed* or *changed*; a change lists each differing input or resource option (old -> new), with
JSON documents held in strings opened up, as ``plan``'s parity does. A change is marked as a
replacement when the provider would replace (``components.replacement``); a stateful resource is
flagged when it is replaced or removed without ``retainOnDelete``.
Findings (parity violations and mandatory policy violations) are those of the head; each is
*new* unless the base had the same one. A change the provider sends as an update that the cloud
refuses (``refusedOnUpdate`` in the replacement tables: a create-only field the provider does not
replace on) is a *provider* finding, always new: the preview would pass and ``up`` would fail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from components.replacement import forcing_paths, ignored, is_stateful, refusing_paths
from pipeline.diff.masking import Masker
from pipeline.diff.revisions import RenderedRevision, Revision
from pipeline.parity import flatten

EXIT_CLEAN, EXIT_NEW_VIOLATIONS, EXIT_INVALID = 0, 1, 2


@dataclass(frozen=True)
class PropertyChange:
    """One input or option of one resource; None means absent at that revision."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ResourceChange:
    urn: str
    type: str
    name: str
    action: str  # add | remove | change
    changes: tuple[PropertyChange, ...] = ()
    replaced_by: tuple[str, ...] = ()
    """Changed properties that make the provider replace this resource (components.replacement)."""
    stateful: bool = False
    retained: bool = False
    refused_by: tuple[str, ...] = ()
    """Changed properties the provider updates but the cloud refuses (components.replacement)."""

    @property
    def destroys_data(self) -> bool:
        """A stateful resource the update deletes: replaced, or removed and not retained."""
        if not self.stateful:
            return False
        return bool(self.replaced_by) or (self.action == "remove" and not self.retained)


@dataclass
class StageDiff:
    stack: str
    added: list[ResourceChange] = field(default_factory=list)
    removed: list[ResourceChange] = field(default_factory=list)
    changed: list[ResourceChange] = field(default_factory=list)
    note: str = ""  # e.g. a stage that exists at one revision only

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    @property
    def destroying(self) -> list[ResourceChange]:
        return [r for r in self.removed + self.changed if r.destroys_data]

    def resources(self) -> list[ResourceChange]:
        return self.added + self.removed + self.changed


@dataclass(frozen=True)
class Finding:
    """A parity violation or a mandatory policy violation at the head."""

    kind: str  # parity | policy | provider
    stack: str
    urn: str
    rule: str  # the parity property, or the policy name
    message: str
    new: bool


@dataclass
class DiffResult:
    base: Revision
    head: Revision
    stages: dict[str, StageDiff]
    findings: list[Finding]
    masker: Masker = field(default_factory=Masker)
    """Masks the secret values of both revisions' stack files in printed text."""

    @property
    def new_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.new]

    def exit_code(self) -> int:
        return EXIT_NEW_VIOLATIONS if self.new_findings else EXIT_CLEAN

    def to_json(self) -> dict[str, Any]:
        def resource(change: ResourceChange) -> dict[str, Any]:
            data = asdict(change)
            data["destroysData"] = change.destroys_data
            data["replacedBy"] = data.pop("replaced_by")
            data["refusedBy"] = data.pop("refused_by")
            return data

        return {
            "base": {"label": self.base.label, "commit": self.base.commit},
            "head": {"label": self.head.label, "commit": self.head.commit},
            "stages": {
                stack: {
                    "note": diff.note,
                    "added": [resource(r) for r in diff.added],
                    "removed": [resource(r) for r in diff.removed],
                    "changed": [resource(r) for r in diff.changed],
                }
                for stack, diff in self.stages.items()
            },
            "findings": [asdict(f) for f in self.findings],
            "exitCode": self.exit_code(),
        }


_ABSENT = object()


def _properties(resource: dict[str, Any]) -> dict[str, Any]:
    props = flatten(resource.get("inputs", {}))
    for option, value in resource.get("options", {}).items():
        props[f"options.{option}"] = value
    return props


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _change(old: dict[str, Any], new: dict[str, Any]) -> ResourceChange | None:
    before, after = _properties(old), _properties(new)
    # What the engine would diff: it keeps the old value of an ignoreChanges input.
    ignore = new.get("options", {}).get("ignoreChanges") or ()
    changes = []
    for path in sorted(set(before) | set(after)):
        a, b = before.get(path, _ABSENT), after.get(path, _ABSENT)
        if a is not _ABSENT and b is not _ABSENT and _key(a) == _key(b):
            continue
        if not path.startswith("options.") and ignored(path, ignore):
            continue
        changes.append(
            PropertyChange(path, None if a is _ABSENT else a, None if b is _ABSENT else b)
        )
    if not changes:
        return None
    type_token = new["type"]
    paths = [c.path for c in changes]
    return ResourceChange(
        new["urn"],
        type_token,
        new["name"],
        "change",
        tuple(changes),
        forcing_paths(type_token, paths),
        is_stateful(type_token),
        refused_by=refusing_paths(type_token, paths),
    )


def _one_sided(resource: dict[str, Any], action: str) -> ResourceChange:
    return ResourceChange(
        resource["urn"],
        resource["type"],
        resource["name"],
        action,
        stateful=is_stateful(resource["type"]),
        retained=bool(resource.get("options", {}).get("retainOnDelete")),
    )


def _custom(plan: dict[str, Any], stack: str) -> dict[str, dict[str, Any]]:
    stage = plan["stacks"].get(stack) or {}
    return {r["urn"]: r for r in stage.get("resources", []) if r.get("custom")}


def stage_diff(stack: str, base: dict[str, Any], head: dict[str, Any]) -> StageDiff:
    """The diff of one stack between two plans (custom resources; components hold no state)."""
    old, new = _custom(base, stack), _custom(head, stack)
    diff = StageDiff(stack)
    if stack not in base["stacks"]:
        diff.note = "new stage: not in the base revision's pipeline"
    elif stack not in head["stacks"]:
        diff.note = "stage removed from the pipeline at the head revision"
    diff.added = [_one_sided(new[u], "add") for u in new if u not in old]
    diff.removed = [_one_sided(old[u], "remove") for u in old if u not in new]
    diff.changed = [c for u in new if u in old if (c := _change(old[u], new[u])) is not None]
    return diff


def _findings(plan: dict[str, Any]) -> Iterable[tuple[tuple[str, ...], Finding]]:
    for violation in plan.get("parity", {}).get("violations", []):
        finding = Finding(
            "parity",
            violation["stack"],
            violation["urn"],
            violation["property"],
            violation["message"],
            True,
        )
        yield ("parity", finding.stack, finding.urn, finding.rule), finding
    for stack, stage in plan["stacks"].items():
        for item in stage.get("violations") or []:
            if item.get("enforcement") != "mandatory":
                continue
            finding = Finding(
                "policy",
                stack,
                str(item.get("urn", "")),
                str(item.get("policy", "")),
                str(item.get("message", "")),
                True,
            )
            yield ("policy", finding.stack, finding.urn, finding.rule), finding


def compare(base: RenderedRevision, head: RenderedRevision) -> DiffResult:
    """Diff every stage of the two plans and mark which head findings the base did not have."""
    order = head.order + [s for s in base.order if s not in head.order]
    stages = {stack: stage_diff(stack, base.plan, head.plan) for stack in order}
    known = {key for key, _ in _findings(base.plan)}
    findings = [
        Finding(f.kind, f.stack, f.urn, f.rule, f.message, key not in known)
        for key, f in _findings(head.plan)
    ]
    findings += [
        _refused(stack, change) for stack, diff in stages.items() for change in diff.changed
        if change.refused_by
    ]  # fmt: skip
    return DiffResult(base.revision, head.revision, stages, findings)


def _refused(stack: str, change: ResourceChange) -> Finding:
    fields = ", ".join(p.removeprefix("inputs.") for p in change.refused_by)
    return Finding(
        "provider",
        stack,
        change.urn,
        "refused-on-update",
        f"{change.type} {change.name}: {fields} cannot change on an existing resource; the"
        " provider sends an update, which the cloud refuses at `up` (replace it deliberately:"
        " pulumi up --replace <urn>)",
        True,
    )
