"""Azure log rules: the stage has its central Log Analytics workspace, which keeps logs as long
as the stage requires."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..graph import number, of_type
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


ENVIRONMENT = "azure-native:app:ManagedEnvironment"


@RULES.stack(
    "azure-operationalinsights-workspace-in-stage",
    description="A stage that runs container apps has its own Log Analytics workspace, where"
    " the apps' logs are kept (central logging).",
    severity=Severity.HIGH,
    remediation="Keep the Logs component (components/azure/logs.py) in the stage.",
)
def azure_operationalinsights_workspace_in_stage(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    if any(of_type(args.resources, WORKSPACE)):
        return
    for environment in of_type(args.resources, ENVIRONMENT):
        report("the stage has no Log Analytics workspace for its logs", environment.urn)
