"""AWS parity rules (stack rules, pins from the policy config): every stage runs the same
database engine and major version, and has each blueprint component exactly once."""

from __future__ import annotations

from collections import Counter

from pulumi_policy import ReportViolation, Severity, StackValidationArgs

from ..graph import component_token, of_type
from ..rule import RuleSet, config_schema

RULES = RuleSet("parity", substrate="aws")

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"


@RULES.stack(
    "aws-rds-instance-engine-pinned",
    description="Database instances run the pinned engine and major version in every stage.",
    severity=Severity.HIGH,
    remediation="Change the engine or major version in blueprint.yaml (database) and the pin in"
    " every policies/config/<stage>.json with it (pipeline/policy/pins.py write_pins).",
    config=config_schema({"engine": {"type": "string"}, "majorVersion": {"type": "integer"}}),
)
def aws_rds_instance_engine_pinned(args: StackValidationArgs, report: ReportViolation) -> None:
    config = args.get_config()
    # Policy config crosses the wire as a protobuf Struct: every number arrives as a float.
    engine, major = config.get("engine"), str(int(config.get("majorVersion", 0)))
    for instance in of_type(args.resources, INSTANCE):
        found = instance.props.get("engine")
        version = str(instance.props.get("engineVersion", "")).split(".")[0]
        if found != engine or version != major:
            report(
                f"{instance.name} runs {found} {version or '?'}, pinned {engine} {major}",
                instance.urn,
            )
    for group in of_type(args.resources, PARAMETER_GROUP):
        family = group.props.get("family")
        if family and family != f"{engine}{major}":
            report(f"{group.name} is for {family}, pinned {engine}{major}", group.urn)


@RULES.stack(
    "aws-blueprint-component-exactly-once",
    description="Every blueprint component (<project>:aws:<Role>) is present exactly once.",
    severity=Severity.HIGH,
    remediation="Build the stage with components.environment.Environment, which creates each"
    " role once; do not add or drop roles per stage.",
    config=config_schema({"roles": {"type": "array", "items": {"type": "string"}, "minItems": 1}}),
)
def aws_blueprint_component_exactly_once(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    counts = Counter(r.resource_type for r in args.resources)
    if not counts[component_token(args.resources, "aws", "Environment")]:
        args.not_applicable("not an AWS stage")
    for role in ["Environment", *args.get_config().get("roles", [])]:
        token = component_token(args.resources, "aws", role)
        if counts[token] != 1:
            report(f"{token} is present {counts[token]} time(s), expected once", None)
