"""Build a StageSpec from stack configuration, exactly as the Pulumi CLI hands it to a program.

The CLI passes config as a flat map of ``namespace:key`` to strings (objects JSON-encoded), plus the
list of keys that are secret. Every error names the stack file and the config key, in Pulumi's path
notation (``<project>:scale.database.multiAz``), and says what was expected.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from components import project, substrates
from components.spec.model import StageSpec

PROJECT = project.name()
"""The config namespace: ``name`` in Pulumi.yaml."""
KEYS = {
    "stage": "Stage name in the pipeline (dev, test, staging, live, local).",
    "cloud": "Substrate the blueprint is built on (one registered in components/*/substrate.py).",
    "cidr": "The stage's private IPv4 range; stages of one pipeline never overlap.",
    "domain": "DNS name the stage's services answer under ({service}.{domain}).",
    "hostedZoneId": "Route 53 hosted zone of the domain (AWS); without one, DNS is done by hand.",
    "owner": "Team that owns the stage (tag owner).",
    "costCenter": "Cost center billed for the stage (tag cost-center).",
    "release": "Id of the release the stage runs; set by promotion.",
    "images": "Service name to image pinned by digest (repo@sha256:...); set by promotion.",
    "scale": "What may differ per stage: sizes, replicas, retention, protection.",
    "shape": "Overrides of the blueprint's shape. Any difference is a parity violation.",
    "tags": "Extra tags for every taggable resource.",
    "secrets": "App secrets as secure: values (pulumi config set --secret --path).",
    "substrateImages": "The substrate's own images (database, proxy, ...) pinned by digest,"
    " in place of its shipped defaults (docs/local.md).",
}
OBJECT_KEYS = {"images", "scale", "shape", "tags", "secrets", "substrateImages"}
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's marker for a value not known yet; offline renders give it to every secure value."""


@dataclass(frozen=True)
class Problem:
    key: str
    message: str


class SpecError(Exception):
    """A stack's configuration does not make a valid stage spec."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.source}: {p.key}: {p.message}" for p in self.problems)


def region_of(config: Mapping[str, str]) -> str | None:
    """The stage's region, read from its cloud's provider key (Docker has none: local)."""
    key = _region_key(config.get(f"{PROJECT}:cloud", "aws"))
    return config.get(key) if key else "local"


def _region_key(cloud: str) -> str | None:
    """The substrate's region key (registry); an unknown cloud has none."""
    info = substrates.registry().get(cloud)
    return info.region_key if info else None


def _config_key(path: tuple[str | int, ...], cloud: str) -> str:
    """Map a model path (identity.tags.owner) to the config key that feeds it."""
    parts = [str(p) for p in path]
    head, rest = (parts[0], parts[1:]) if parts else ("", [])
    if head == "identity" and rest:
        if rest[0] == "region":
            return _region_key(cloud) or f"{PROJECT}:region"
        if rest[0] == "tags" and len(rest) > 1:
            if rest[1] == "extra":
                return ".".join([f"{PROJECT}:tags", *rest[2:]])
            return f"{PROJECT}:{rest[1]}"
        return f"{PROJECT}:{rest[0]}"
    if head == "release" and rest:
        if rest[0] == "id":
            return f"{PROJECT}:release"
        return ".".join([f"{PROJECT}:images", *rest[1:]])
    if head == "secretKeys":
        return f"{PROJECT}:secrets"
    return ".".join([f"{PROJECT}:{head}", *rest]) if head else f"{PROJECT}:"


def describe(error: Any) -> str:
    """A pydantic error in the words the stack and blueprint files use."""
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against the spec's JSON Schema)"
    if kind == "missing":
        return "required, but not set"
    if kind == "string_pattern_mismatch" and "sha256" in str(error.get("ctx", {})):
        return f"expected an image pinned by digest (repo@sha256:<64 hex>), got {error['input']!r}"
    return f"{msg.removeprefix('Value error, ')} (got {error['input']!r})"


def _parse(key: str, raw: str, problems: list[Problem]) -> Any:
    """Decode a config value the way the CLI encoded it."""
    if key in OBJECT_KEYS:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            problems.append(Problem(f"{PROJECT}:{key}", "expected a mapping"))
            return None
        if not isinstance(value, dict):
            problems.append(Problem(f"{PROJECT}:{key}", "expected a mapping"))
            return None
        return value
    return raw


def load_spec(
    config: Mapping[str, str],
    *,
    stack: str,
    source: str,
    secret_keys: Iterable[str] = (),
    blueprint_dir: str | None = None,
) -> StageSpec:
    """Validate one stack's config into a StageSpec, or raise SpecError naming file and keys."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for full_key, raw in config.items():
        namespace, _, key = full_key.partition(":")
        if namespace != PROJECT:
            if key in KEYS and namespace not in substrates.provider_namespaces():
                # Our keys under another name: a renamed project whose stack files still
                # carry the old namespace. Pulumi would hand the program none of them.
                problems.append(
                    Problem(
                        full_key,
                        f"config namespace {namespace!r} is not this project's; Pulumi.yaml"
                        f" names the project {PROJECT!r}, so write {PROJECT}:{key}",
                    )
                )
            continue
        if key not in KEYS:
            close = difflib.get_close_matches(key, sorted(KEYS), n=1, cutoff=0.6)
            hint = f"; did you mean '{PROJECT}:{close[0]}'?" if close else ""
            expected = ", ".join(sorted(KEYS))
            problems.append(Problem(full_key, f"unknown key{hint} (expected one of {expected})"))
            continue
        values[key] = _parse(key, raw, problems)
    secret_set = set(secret_keys)
    if "secrets" in values and f"{PROJECT}:secrets" not in secret_set:
        problems.append(Problem(f"{PROJECT}:secrets", "expected secure: values, got plain text"))
    for key in (
        "stage",
        "cloud",
        "release",
        "cidr",
        "domain",
        "hostedZoneId",
        "owner",
        "costCenter",
    ):
        if values.get(key) == UNKNOWN or f"{PROJECT}:{key}" in secret_set:
            problems.append(Problem(f"{PROJECT}:{key}", "expected a plain value, not a secret"))
    if problems:
        raise SpecError(source, problems)

    cloud = str(values.get("cloud", "aws"))
    region = region_of(config)
    identity = {
        "stage": values.get("stage"),
        "stack": stack,
        "project": PROJECT,
        "cloud": cloud,
        "region": region,
        "cidr": values.get("cidr"),
        "domain": values.get("domain"),
        "hostedZoneId": values.get("hostedZoneId"),
        "tags": {
            key: value
            for key, value in (
                ("owner", values.get("owner")),
                ("costCenter", values.get("costCenter")),
                ("extra", values.get("tags", {})),
            )
            if value is not None
        },
    }
    data: dict[str, Any] = {
        "identity": {k: v for k, v in identity.items() if v is not None},
        "release": {"images": values.get("images", {})},
        "secretKeys": tuple(sorted(values.get("secrets") or {})),
        "substrateImages": values.get("substrateImages") or {},
    }
    if "release" in values:
        data["release"]["id"] = values["release"]
    if "scale" in values:
        data["scale"] = values["scale"]
    # The shape is the blueprint file's; a stack's own shape keys lay over it (the parity
    # check reports each as a difference between stages).
    from components.spec.blueprint import merge, shape_data

    data["shape"] = merge(shape_data(blueprint_dir), values.get("shape") or {})
    try:
        spec = StageSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(
            source,
            [Problem(_config_key(tuple(e["loc"]), cloud), describe(e)) for e in exc.errors()],
        ) from None
    rule_problems = spec.problems()
    if rule_problems:
        raise SpecError(
            source,
            [
                Problem(_config_key(tuple(path.split(".")), cloud), f"expected {expected}")
                for path, expected in rule_problems
            ],
        )
    return spec
