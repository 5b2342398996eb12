"""Azure Key Vault rules: RBAC and soft delete everywhere, no public network access, purge
protection where the stage protects its data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..rule import RuleSet, checkov

RULES = RuleSet("keys", substrate="azure")

VAULT = "azure-native:keyvault:Vault"


def properties(args: ResourceValidationArgs) -> Mapping[str, Any]:
    value = args.props.get("properties")
    return value if isinstance(value, Mapping) else {}


@RULES.resource(
    "azure-keyvault-vault-rbac-and-soft-delete",
    types=(VAULT,),
    description="Access is granted with Azure RBAC (no access policies) and deleted secrets are"
    " recoverable (soft delete).",
    severity=Severity.HIGH,
    remediation="Set properties.enableRbacAuthorization to true, drop accessPolicies, and keep"
    " enableSoftDelete true.",
    references=(checkov("CKV_AZURE_42"),),
)
def azure_keyvault_vault_rbac_and_soft_delete(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    props = properties(args)
    if props.get("enableRbacAuthorization") is not True:
        report("enableRbacAuthorization is not true", None)
    if props.get("accessPolicies"):
        report("the vault grants access with access policies", None)
    if props.get("enableSoftDelete") is False:
        report("enableSoftDelete is false", None)


@RULES.resource(
    "azure-keyvault-vault-disallow-public-network-access",
    types=(VAULT,),
    description="The vault takes no traffic from public networks; it is reached through its"
    " private endpoint.",
    severity=Severity.MEDIUM,
    remediation="Set properties.publicNetworkAccess to Disabled and networkAcls.defaultAction"
    " to Deny.",
    references=(checkov("CKV_AZURE_109"),),
)
def azure_keyvault_vault_disallow_public_network_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    props = properties(args)
    acls = props.get("networkAcls") or {}
    if props.get("publicNetworkAccess") != "Disabled" and acls.get("defaultAction") != "Deny":
        report("the vault is reachable from public networks", None)


@RULES.resource(
    "azure-keyvault-vault-purge-protection",
    types=(VAULT,),
    description="Deleted vaults and secrets cannot be purged before their retention ends.",
    severity=Severity.HIGH,
    remediation="Set scale.database.deletionProtection to true (properties."
    "enablePurgeProtection true); it cannot be turned off again.",
    references=(checkov("CKV_AZURE_110"),),
)
def azure_keyvault_vault_purge_protection(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if properties(args).get("enablePurgeProtection") is not True:
        report("enablePurgeProtection is not true", None)
