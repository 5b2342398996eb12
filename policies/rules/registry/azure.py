"""Azure registry rules: no admin user, no anonymous pull, no public network access."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..rule import RuleSet, checkov

RULES = RuleSet("registry", substrate="azure")

REGISTRY = "azure-native:containerregistry:Registry"


@RULES.resource(
    "azure-containerregistry-registry-disallow-admin-user",
    types=(REGISTRY,),
    description="The registry's admin user (a shared username and password) is disabled.",
    severity=Severity.HIGH,
    remediation="Set adminUserEnabled to false; pull with a managed identity holding AcrPull.",
    references=(checkov("CKV_AZURE_137"),),
)
def azure_containerregistry_registry_disallow_admin_user(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("adminUserEnabled") is not False:
        report("adminUserEnabled is not false", None)


@RULES.resource(
    "azure-containerregistry-registry-disallow-anonymous-pull",
    types=(REGISTRY,),
    description="Images cannot be pulled without signing in.",
    severity=Severity.CRITICAL,
    remediation="Set anonymousPullEnabled to false.",
    references=(checkov("CKV_AZURE_138"),),
)
def azure_containerregistry_registry_disallow_anonymous_pull(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("anonymousPullEnabled") is True:
        report("anonymousPullEnabled is true", None)


@RULES.resource(
    "azure-containerregistry-registry-disallow-public-network-access",
    types=(REGISTRY,),
    description="The registry takes no traffic from public networks (Premium SKU, private"
    " endpoint, a firewall that denies by default).",
    severity=Severity.HIGH,
    remediation="Use the Premium SKU, set publicNetworkAccess to Disabled and reach the"
    " registry through a private endpoint.",
    references=(checkov("CKV_AZURE_139"),),
)
def azure_containerregistry_registry_disallow_public_network_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    sku = (args.props.get("sku") or {}).get("name")
    if sku != "Premium":
        report(f"sku is {sku}: only Premium can turn public network access off", None)
    elif args.props.get("publicNetworkAccess") != "Disabled":
        report("publicNetworkAccess is not Disabled", None)
    if (args.props.get("networkRuleSet") or {}).get("defaultAction") != "Deny":
        report("networkRuleSet.defaultAction is not Deny", None)


@RULES.resource(
    "azure-containerregistry-registry-disallow-export",
    types=(REGISTRY,),
    description="Images cannot be exported out of the registry (policies.exportPolicy"
    " disabled), so a leaked credential cannot copy the releases elsewhere.",
    severity=Severity.MEDIUM,
    remediation="Set policies.exportPolicy.status to disabled (Premium SKU, public network"
    " access Disabled).",
)
def azure_containerregistry_registry_disallow_export(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    status = ((args.props.get("policies") or {}).get("exportPolicy") or {}).get("status")
    if status != "disabled":
        report(f"policies.exportPolicy.status is {status or 'unset (enabled)'}", None)
