"""Desired-state diffs and the preview gate's reading of them.

A change is *release-only* when the resource's old and new inputs become equal once each side's
release id and image digests are replaced by placeholders: then the release is all that changed
it. That holds for an update and for a replacement of a stateless resource (a new image digest
replaces every ECS TaskDefinition: ``components.replacement`` says which changes replace). A
real preview then shows the resources that reference a replaced one (the ECS service's
``taskDefinition``) as updates whose new value is unknown until the replacement exists; such an
update is explained by the release too, when it changes nothing else. The gate stops on
anything else, and on any destructive operation on a stateful resource (database, storage, keys,
registry: the roles and types that hold data or identity).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from components import replacement
from components.spec.loader import UNKNOWN
from components.spec.model import digest_of
from pipeline.parity import flatten
from pipeline.plan import role_of_urn as role_of
from pipeline.promote.deployer import DESTRUCTIVE_OPS, Change, ReleaseConfig

STATEFUL_ROLES = frozenset({"Database", "Storage", "Keys", "Registry"})
REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced"})
"""The engine's steps of one replacement (one preview may show all three for a URN)."""


def is_stateful(change: Change) -> bool:
    return role_of(change.urn) in STATEFUL_ROLES or replacement.is_stateful(change.type)


def running_config(outputs: Mapping[str, Any]) -> ReleaseConfig:
    """What a stack runs, from its ``release`` and ``digests`` outputs."""
    digests = outputs.get("digests") or {}
    return ReleaseConfig(
        str(outputs.get("release", "")), {s: f"@{d}" for s, d in sorted(digests.items())}
    )


def _substitutions(config: ReleaseConfig) -> list[tuple[re.Pattern[str], str]]:
    # A release pins each image as REPO@DIGEST; a program may run the digest from its own
    # registry (the stage's ECR) or the release's reference itself (Docker), so the reference
    # ending in one of the release's digests is the release's, whichever repository it names.
    # Placeholders name no service, since the release decides every image.
    subs = [
        (re.compile(rf"(?:[A-Za-z0-9][A-Za-z0-9._/:-]*@)?{re.escape(digest_of(i))}"), "{digest}")
        for i in config.images.values()
    ]
    if config.release:
        word = re.escape(config.release)
        subs.append((re.compile(rf"(?<![A-Za-z0-9._-]){word}(?![A-Za-z0-9._-])"), "{release}"))
    return subs


def normalize(value: Any, config: ReleaseConfig) -> Any:
    subs = _substitutions(config)

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            for pattern, placeholder in subs:
                item = pattern.sub(placeholder, item)
            return item
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value)


def changed_paths(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> tuple[str, ...]:
    a, b = flatten(dict(old or {})), flatten(dict(new or {}))
    return tuple(sorted(p for p in set(a) | set(b) if a.get(p, _ABSENT) != b.get(p, _ABSENT)))


_ABSENT = object()


def desired_state_diff(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[Change]:
    """Compare two rendered graphs (engine terms) resource by resource, matched by URN."""
    old = {r["urn"]: r for r in before}
    new = {r["urn"]: r for r in after}
    changes = []
    for urn in list(new) + [u for u in old if u not in new]:
        was, now = old.get(urn), new.get(urn)
        resource = now or was
        assert resource is not None
        old_state = _state(was)
        new_state = _state(now)
        if was is None:
            op = "create"
        elif now is None:
            op = "delete"
        elif old_state == new_state:
            op = "same"
        else:
            op = "update"
        paths = changed_paths(old_state, new_state) if op == "update" else ()
        # The engine keeps the old value of an ignoreChanges input: it is no change at all.
        ignore = tuple((now or {}).get("options", {}).get("ignoreChanges") or ())
        paths = tuple(p for p in paths if not replacement.ignored(p, ignore))
        if op == "update" and not paths:
            op = "same"
        if replacement.replaces(resource["type"], paths):
            op = "replace"  # what the provider would do with these changes
        changes.append(Change(urn, resource["type"], op, old_state, new_state, paths))
    return changes


def _state(resource: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if resource is None:
        return None
    return {"inputs": resource.get("inputs", {}), "options": resource.get("options", {})}


def release_only(change: Change, old: ReleaseConfig, new: ReleaseConfig) -> bool:
    """Whether the release alone explains this change (an update, or a replacement's step)."""
    if change.op == "same":
        return True
    if change.op not in {"update", *REPLACE_OPS} or change.old is None or change.new is None:
        return False
    before, after = normalize(change.old, old), normalize(change.new, new)
    if change.op in REPLACE_OPS:
        before, after = (
            _without_auto_name(before, change.urn),
            _without_auto_name(after, change.urn),
        )
    return bool(before == after)


def _without_auto_name(state: dict[str, Any], urn: str) -> dict[str, Any]:
    """The state without its physical ``name`` when the engine made it up: a replacement gets a
    new one (``<logical name>-<7 random hex>``, Pulumi's auto-naming), whatever replaced it."""
    inputs = state.get("inputs")
    if not isinstance(inputs, dict):
        return state
    logical = urn.rsplit("::", 1)[-1]
    if not re.fullmatch(rf"{re.escape(logical)}-[0-9a-f]{{7}}", str(inputs.get("name", ""))):
        return state
    return {**state, "inputs": {k: v for k, v in inputs.items() if k != "name"}}


def _follows_replacement(change: Change, old: ReleaseConfig, new: ReleaseConfig) -> bool:
    """An update, or a replacement's step, whose only differences besides the release are
    values unknown until a replacement is made (a Docker container whose image is the output
    of the RemoteImage the release replaces)."""
    if change.op not in {"update", *REPLACE_OPS} or change.old is None or change.new is None:
        return False
    before, after = normalize(change.old, old), normalize(change.new, new)
    if change.op in REPLACE_OPS:
        before, after = (
            _without_auto_name(before, change.urn),
            _without_auto_name(after, change.urn),
        )
    a, b = flatten(before), flatten(after)
    differing = [p for p in set(a) | set(b) if a.get(p, _ABSENT) != b.get(p, _ABSENT)]
    return bool(differing) and all(b.get(p) == UNKNOWN for p in differing)


def gate_findings(
    changes: Sequence[Change],
    old: ReleaseConfig,
    new: ReleaseConfig,
    interrupted: Mapping[str, Collection[str]] | None = None,
) -> list[str]:
    """Why the preview gate stops; empty when the preview changes only what the release does.

    ``interrupted``: URN -> changed paths of the preview this gate passed before the stage's
    update was interrupted. A killed update leaves the stack half-way (the RemoteImages already
    replaced, their containers not), so the rest of it no longer looks like a release change
    (a container's image is now a known id, not the unknown a replacement gives); a change that
    finishes what that preview showed, on no other path, is the interrupted update completing.
    A stateful resource is never let through this way."""
    # A replacement shows as up to three steps; the one with both states decides for its URN,
    # so a delete-replaced step (no new state) is explained when its replace step is.
    replaced_by_release = {
        c.urn
        for c in changes
        if c.op in REPLACE_OPS and not is_stateful(c) and release_only(c, old, new)
    }
    # ... and a stateless replacement that only follows one of those (its new values unknown).
    if replaced_by_release:
        replaced_by_release |= {
            c.urn
            for c in changes
            if c.op in REPLACE_OPS and not is_stateful(c) and _follows_replacement(c, old, new)
        }
    findings = []
    for change in changes:
        if change.op in DESTRUCTIVE_OPS and is_stateful(change):
            findings.append(
                f"{change.urn}: would {change.op} a stateful resource ({role_of(change.urn)})"
            )
        elif (change.op in REPLACE_OPS and change.urn in replaced_by_release) or (
            replaced_by_release and _follows_replacement(change, old, new)
        ):
            continue
        elif interrupted and change.urn in interrupted and change.op in {"update", *REPLACE_OPS}:
            if set(change.paths) <= set(interrupted[change.urn]):
                continue
            findings.append(f"{change.urn}: {change.op} beyond the interrupted update's preview")
        elif not release_only(change, old, new):
            what = ", ".join(change.paths[:4]) + (" ..." if len(change.paths) > 4 else "")
            findings.append(
                f"{change.urn}: {change.op} beyond the release" + (f" ({what})" if what else "")
            )
    return findings


def _show(value: Any, width: int = 60) -> str:
    text = "(absent)" if value is _ABSENT else json.dumps(value, default=str)
    # Long values differ at the end more often (digests, ids): keep the tail.
    return text if len(text) <= width else "..." + text[-(width - 3) :]


def diff_lines(changes: Sequence[Change], limit: int = 40) -> list[str]:
    """A readable diff: one line per operation, one per changed property."""
    marks = {"create": "+", "delete": "-", "update": "~", "replace": "+-"}
    marks |= {"create-replacement": "++", "delete-replaced": "--"}
    lines: list[str] = []
    for change in changes:
        if change.op == "same":
            continue
        lines.append(f"{marks.get(change.op, '?')} {change.op:<7} {change.urn}")
        if change.op == "update" or change.op in REPLACE_OPS:
            a, b = flatten(change.old or {}), flatten(change.new or {})
            for path in change.paths[:8]:
                old_value, new_value = a.get(path, _ABSENT), b.get(path, _ABSENT)
                lines.append(f"      {path}: {_show(old_value)} -> {_show(new_value)}")
        if len(lines) >= limit:
            lines.append("      ...")
            break
    return lines
