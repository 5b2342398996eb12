"""A stage's policy config file, resolved against the pack the way the Pulumi CLI does.

``policies/config/<stage>.json`` is what ``--policy-pack-config`` takes: ``"all"`` sets every
policy's enforcement level, then a policy's own entry (a level, or an object with an optional
``enforcementLevel`` and properties) overrides it. Properties are checked against the policy's
config schema before anything is analyzed; every error names the file and the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.spec.bounded import read_json
from components.spec.loader import SpecError

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
SUBSTRATE_TAG = "substrate:"  # the tag policies/rules/rule.py puts on every rule
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class PolicyConfigError(Exception):
    """A policy config file is missing or does not fit the pack; names the file and key."""

    def __init__(self, path: Path, problems: list[tuple[str, str]]) -> None:
        self.path = path
        self.problems = problems
        lines = [f"{path}:"] + [f"  {key}: {message}" for key, message in problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class PolicyMeta:
    """What the pack says about one policy (GetAnalyzerInfo)."""

    name: str
    description: str
    enforcement: str
    kind: str
    severity: str
    remediation: str
    tags: tuple[str, ...] = ()
    schema: dict[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    @property
    def substrate(self) -> str | None:
        """The substrate whose stages the rule guards; None: every substrate."""
        tagged = (t.removeprefix(SUBSTRATE_TAG) for t in self.tags if t.startswith(SUBSTRATE_TAG))
        return next(tagged, None)


@dataclass(frozen=True)
class Resolved:
    enforcement: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class StageConfig:
    """The effective level and properties of every policy for one stage."""

    stage: str
    path: Path
    policies: dict[str, Resolved]


def config_path(config_dir: Path, stage: str) -> Path:
    return config_dir / f"{stage}.json"


def _type_problem(value: Any, schema: dict[str, Any]) -> str | None:
    expected = schema.get("type")
    kinds = _JSON_TYPES.get(str(expected))
    if kinds and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
        return f"expected {expected}, got {json.dumps(value)}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"expected at least {schema['minimum']}, got {value}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"expected at most {schema['maximum']}, got {value}"
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return f"expected at least {schema['minItems']} item(s)"
        items = schema.get("items")
        if isinstance(items, dict):
            for item in value:
                problem = _type_problem(item, items)
                if problem:
                    return f"item {json.dumps(item)}: {problem}"
    return None


def resolve(path: Path, stage: str, policies: list[PolicyMeta]) -> StageConfig:
    """Read ``path`` and resolve it for ``policies``; raise PolicyConfigError on any problem."""
    if not path.exists():
        raise PolicyConfigError(
            path, [("(file)", f"no policy config for stage {stage!r}; expected {path.name}")]
        )
    try:
        raw = read_json(path, "(file)")
    except SpecError as exc:
        raise PolicyConfigError(path, [(p.key, p.message) for p in exc.problems]) from None
    if not isinstance(raw, dict):
        raise PolicyConfigError(path, [("(file)", "expected an object of policy names")])
    known = {p.name: p for p in policies}
    problems: list[tuple[str, str]] = []
    for key in raw:
        if key != "all" and key not in known:
            problems.append((key, "no policy of that name in the pack"))
    default = raw.get("all")
    if default is not None and default not in LEVELS:
        problems.append(("all", f"expected one of {', '.join(LEVELS)}, got {default!r}"))
    resolved: dict[str, Resolved] = {}
    for policy in policies:
        level = default if default in LEVELS else policy.enforcement
        entry = raw.get(policy.name, {})
        properties: dict[str, Any] = {}
        if isinstance(entry, str):
            entry = {"enforcementLevel": entry}
        if not isinstance(entry, dict):
            problems.append((policy.name, "expected an enforcement level or an object"))
            continue
        for prop, value in entry.items():
            if prop == "enforcementLevel":
                if value not in LEVELS:
                    expected = f"expected one of {', '.join(LEVELS)}"
                    problems.append((f"{policy.name}.enforcementLevel", expected))
                else:
                    level = value
            elif prop not in policy.schema:
                problems.append((f"{policy.name}.{prop}", "not a property of this policy"))
            else:
                problem = _type_problem(value, policy.schema[prop])
                if problem:
                    problems.append((f"{policy.name}.{prop}", problem))
                properties[prop] = value
        if level != "disabled":
            for prop in policy.required:
                if prop not in properties:
                    problems.append((f"{policy.name}.{prop}", "required by the policy and not set"))
        resolved[policy.name] = Resolved(level, properties)
    if problems:
        raise PolicyConfigError(path, problems)
    return StageConfig(stage, path, resolved)
