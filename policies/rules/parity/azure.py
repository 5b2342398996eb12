"""Azure parity rules (stack rules, pins from the policy config): every stage runs the same
PostgreSQL major version, and has each blueprint component exactly once."""

from __future__ import annotations

from collections import Counter

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from ..graph import component_token, of_type
from ..rule import RuleSet, config_schema

RULES = RuleSet("parity", substrate="azure")

SERVER = "azure-native:dbforpostgresql:Server"


@RULES.stack(
    "azure-dbforpostgresql-server-engine-pinned",
    description="PostgreSQL flexible servers run the pinned major version in every stage.",
    severity=Severity.HIGH,
    remediation="Change the major version in blueprint.yaml (database) and the pin in every"
    " policies/config/<stage>.json with it (pipeline/policy/pins.py write_pins).",
    config=config_schema({"majorVersion": {"type": "integer"}}),
)
def azure_dbforpostgresql_server_engine_pinned(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    # Policy config crosses the wire as a protobuf Struct: every number arrives as a float.
    major = str(int(args.get_config().get("majorVersion", 0)))
    for server in of_type(args.resources, SERVER):
        found = str(server.props.get("version", "")).split(".")[0]
        if found != major:
            report(f"{server.name} runs PostgreSQL {found or '?'}, pinned {major}", server.urn)


@RULES.stack(
    "azure-blueprint-component-exactly-once",
    description="Every blueprint component (<project>:azure:<Role>) is present exactly once.",
    severity=Severity.HIGH,
    remediation="Build the stage with components.environment.Environment, which creates each"
    " role once; do not add or drop roles per stage.",
    config=config_schema({"roles": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),
)
def azure_blueprint_component_exactly_once(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    counts = Counter(r.resource_type for r in args.resources)
    if not counts[component_token(args.resources, "azure", "Environment")]:
        args.not_applicable("not an Azure stage")
    for role in ["Environment", *args.get_config().get("roles", [])]:
        token = component_token(args.resources, "azure", role)
        if counts[token] != 1:
            report(f"{token} is present {counts[token]} time(s), expected once", None)
