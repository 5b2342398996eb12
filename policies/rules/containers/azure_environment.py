"""Azure Container Apps environment rules: its logs go to the stage's Log Analytics workspace,
and traffic between apps inside it is encrypted."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..rule import RuleSet

RULES = RuleSet("containers", substrate="azure")

ENVIRONMENT = "azure-native:app:ManagedEnvironment"


@RULES.resource(
    "azure-app-managedenvironment-logs-and-peer-encryption",
    types=(ENVIRONMENT,),
    description="The managed environment sends its apps' logs to Log Analytics and encrypts"
    " traffic between apps (peerTrafficConfiguration.encryption).",
    severity=Severity.HIGH,
    remediation="Set appLogsConfiguration.destination log-analytics with the stage's"
    " workspace, and peerTrafficConfiguration.encryption.enabled true.",
)
def azure_app_managedenvironment_logs_and_peer_encryption(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    destination = (args.props.get("appLogsConfiguration") or {}).get("destination")
    if destination not in ("log-analytics", "azure-monitor"):
        report(f"appLogsConfiguration.destination is {destination or 'unset'}: no logs kept", None)
    peer = (args.props.get("peerTrafficConfiguration") or {}).get("encryption") or {}
    if peer.get("enabled") is not True:
        report("peerTrafficConfiguration.encryption.enabled is not true", None)


@RULES.resource(
    "azure-app-managedenvironment-in-stage-vnet",
    types=(ENVIRONMENT,),
    description="The managed environment runs in the stage's VNet (its apps subnet, behind"
    " that subnet's NSG), not on Azure's shared network.",
    severity=Severity.HIGH,
    remediation="Set vnetConfiguration.infrastructureSubnetId to the stage's apps subnet.",
)
def azure_app_managedenvironment_in_stage_vnet(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if not (args.props.get("vnetConfiguration") or {}).get("infrastructureSubnetId"):
        report("vnetConfiguration.infrastructureSubnetId is not set", None)
