"""Reading the engine's view of resources: JSON documents, names, companions in a stack."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, ResourceValidationArgs


def document(value: Any) -> Any:
    """A JSON document given as a string (IAM policies, container definitions) or as data."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def statements(policy: Any) -> list[Mapping[str, Any]]:
    """The statements of an IAM-style policy document, always as a list."""
    doc = document(policy)
    if not isinstance(doc, Mapping):
        return []
    found = doc.get("Statement", [])
    found = [found] if isinstance(found, Mapping) else found
    return [s for s in found if isinstance(s, Mapping)]


def number(value: Any) -> Any:
    """A number as people write it: the wire carries every number as a double (80.0 -> 80)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def as_list(value: Any) -> list[Any]:
    """A value or list of values as a list (the pack hands lists over as read-only proxies)."""
    if value is None:
        return []
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)
    return [value]


def names(resource: PolicyResource, value: Any) -> bool:
    """Whether ``value`` is this resource's physical name: explicit, its id, or an autoname
    (logical name plus Pulumi's random hex suffix)."""
    if not isinstance(value, str) or not value:
        return False
    props = resource.props
    for key in ("bucket", "name", "id"):
        if props.get(key) == value:
            return True
    return re.fullmatch(rf"{re.escape(resource.name)}-[0-9a-f]{{7,8}}", value) is not None


def of_type(resources: Iterable[PolicyResource], *types: str) -> Iterator[PolicyResource]:
    return (r for r in resources if r.resource_type in types)


def companions(
    resources: list[PolicyResource], target: PolicyResource, type_token: str, key: str = "bucket"
) -> list[PolicyResource]:
    """Resources of ``type_token`` whose ``key`` property names ``target``."""
    return [r for r in of_type(resources, type_token) if names(target, r.props.get(key))]


def report_missing_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """The identity tags the rule's config requires, and a stage tag naming this stage."""
    config = args.get_config()
    tags = args.props.get("tags") or {}
    missing = [k for k in config.get("requiredKeys", []) if not tags.get(k)]
    if missing:
        report(f"missing tag(s): {', '.join(missing)}", None)
    stage = config.get("stage")
    if stage and tags.get("stage") and tags.get("stage") != stage:
        report(f"tag stage is {tags.get('stage')}, but this is the {stage} stage", None)


def component_token(resources: Sequence[PolicyResource], substrate: str, role: str) -> str:
    """``<project>:<substrate>:<Role>``: blueprint components are typed in the project's own
    package, the project the engine wrote into every URN (``urn:pulumi:<stack>::<project>::...``),
    so a renamed project needs no change here."""
    project = resources[0].urn.split("::")[1] if resources else ""
    return f"{project}:{substrate}:{role}"


# RFC 1918 and RFC 4193: the ranges a stage's networks use. Python's is_private also counts
# documentation and reserved ranges (203.0.113.0/24, 240.0.0.0/4), which are not a VNet's.
PRIVATE_RANGES = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def within_private(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    """Whether every address of ``network`` is in a private range."""
    return any(
        network.version == r.version and network.subnet_of(r)  # type: ignore[arg-type]
        for r in PRIVATE_RANGES
    )
