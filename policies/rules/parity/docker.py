"""Docker parity rules: every blueprint component is present exactly once (central logging,
keys and the rest are not dropped from a stage)."""

from __future__ import annotations

from collections import Counter

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from ..graph import component_token
from ..rule import RuleSet, config_schema

RULES = RuleSet("parity", substrate="docker")


@RULES.stack(
    "docker-blueprint-component-exactly-once",
    description="Every blueprint component (<project>:docker:<Role>) is present exactly once.",
    severity=Severity.HIGH,
    remediation="Build the stage with components.environment.Environment, which creates each"
    " role once; do not add or drop roles per stage.",
    config=config_schema({"roles": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),
)
def docker_blueprint_component_exactly_once(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    counts = Counter(r.resource_type for r in args.resources)
    if not counts[component_token(args.resources, "docker", "Environment")]:
        args.not_applicable("not a Docker stage")
    for role in ["Environment", *args.get_config().get("roles", [])]:
        token = component_token(args.resources, "docker", role)
        if counts[token] != 1:
            report(f"{token} is present {counts[token]} time(s), expected once", None)
