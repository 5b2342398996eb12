"""Azure tag rules: everything taggable says which stage, project, owner and budget it is for."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import report_missing_tags
from ..rule import RuleSet, config_schema

RULES = RuleSet("tags", substrate="azure")

# Types the blueprint uses that accept `tags` in pulumi-azure-native (tests/azure checks this
# list against the SDK and the rendered stages).
TAGGABLE = frozenset(
    {
        "azure-native:app:ContainerApp",
        "azure-native:app:ManagedEnvironment",
        "azure-native:containerregistry:Registry",
        "azure-native:dbforpostgresql:Server",
        "azure-native:keyvault:Secret",
        "azure-native:keyvault:Vault",
        "azure-native:managedidentity:UserAssignedIdentity",
        "azure-native:network:NetworkSecurityGroup",
        "azure-native:network:PrivateEndpoint",
        "azure-native:network:VirtualNetwork",
        "azure-native:operationalinsights:Workspace",
        "azure-native:privatedns:PrivateZone",
        "azure-native:privatedns:VirtualNetworkLink",
        "azure-native:resources:ResourceGroup",
        "azure-native:storage:StorageAccount",
    }
)


@RULES.resource(
    "azure-all-taggable-required-tags",
    types=TAGGABLE,
    description="Every taggable resource carries the stage, project, owner, cost-center and"
    " managed-by tags, and its stage tag names the stage being checked.",
    severity=Severity.LOW,
    remediation="Create the resource with tags=ctx.tags (components/azure/context.py), the"
    " stage's identity tags.",
    config=config_schema(
        {
            "requiredKeys": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "stage": {"type": "string"},
        }
    ),
)
def azure_all_taggable_required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    report_missing_tags(args, report)
