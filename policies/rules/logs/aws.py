"""AWS logging rules: logs are kept at least as long as the stage requires."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..rule import RuleSet, checkov, config_schema

RULES = RuleSet("logs", substrate="aws")

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


@RULES.resource(
    "aws-cloudwatch-loggroup-retention",
    types=(LOG_GROUP,),
    description="Log groups keep their events at least as long as the stage requires.",
    severity=Severity.MEDIUM,
    remediation="Raise <project>:scale.logRetentionDays in the stack file to at least the"
    " stage's minimumDays (policies/config/<stage>.json).",
    references=(checkov("CKV_AWS_338"),),
    config=config_schema({"minimumDays": {"type": "integer", "minimum": 1}}),
)
def aws_cloudwatch_loggroup_retention(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    minimum = int(args.get_config().get("minimumDays", 365))
    days = int(args.props.get("retentionInDays", 0) or 0)
    # 0 (or unset) means CloudWatch never expires the events, which meets any minimum.
    if 0 < days < minimum:
        report(f"retentionInDays is {days}, the stage requires at least {minimum}", None)
