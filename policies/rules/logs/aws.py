"""AWS logging rules: logs are kept at least as long as the stage requires, encrypted with the
stage's key."""

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


@RULES.resource(
    "aws-cloudwatch-loggroup-encrypted",
    types=(LOG_GROUP,),
    description="Log groups are encrypted with the stage's KMS key.",
    severity=Severity.MEDIUM,
    remediation="Set kmsKeyId to the stage's key (components/aws/logs.py).",
    references=(checkov("CKV_AWS_158"),),
)
def aws_cloudwatch_loggroup_encrypted(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if not args.props.get("kmsKeyId"):
        report("the log group is not encrypted with a KMS key", None)
