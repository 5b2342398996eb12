"""Azure log rules: the Log Analytics workspace keeps logs as long as the stage requires."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import number
from ..rule import RuleSet, config_schema

RULES = RuleSet("logs", substrate="azure")

WORKSPACE = "azure-native:operationalinsights:Workspace"


@RULES.resource(
    "azure-operationalinsights-workspace-retention",
    types=(WORKSPACE,),
    description="The Log Analytics workspace keeps logs at least the stage's minimum.",
    severity=Severity.MEDIUM,
    remediation="Raise scale.logRetentionDays in the stack file (30 to 730 on Azure).",
    config=config_schema({"minimumDays": {"type": "integer", "minimum": 30, "maximum": 730}}),
)
def azure_operationalinsights_workspace_retention(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    minimum = int(args.get_config().get("minimumDays", 30))
    days = number(args.props.get("retentionInDays"))
    if days is None or days < minimum:
        report(f"retentionInDays is {days}, the stage requires at least {minimum}", None)
