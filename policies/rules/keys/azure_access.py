"""Azure access rules: role assignments grant a data-plane role on one resource, never an
administrative role or a whole subscription or resource group (least privilege)."""

from __future__ import annotations

import re

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..rule import Reference, RuleSet

RULES = RuleSet("keys", substrate="azure")

ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
# Built-in roles that administer rather than use (Azure RBAC, "Azure built-in roles").
PRIVILEGED_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    # A workload runs images; writing or deleting them is the release pipeline's.
    "8311e382-0749-4cb8-b61a-304f252e45ec": "AcrPush",
    "c2f4ef07-c644-48eb-af81-4b1b4947fb11": "AcrDelete",
}
# A scope that names one resource: /subscriptions/<id>/resourceGroups/<rg>/providers/<type>/<n>.
RESOURCE_SCOPE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/[^/]+/.+$", re.I)


@RULES.resource(
    "azure-authorization-roleassignment-least-privilege",
    types=(ROLE_ASSIGNMENT,),
    description="Role assignments grant a data-plane role (AcrPull, Key Vault Secrets User,"
    " Storage Blob Data Contributor, ...) on one resource: never Owner, Contributor or an"
    " access administrator, never a subscription, management group or resource group.",
    severity=Severity.HIGH,
    remediation="Scope the assignment to the one resource (scope=<resource>.id) and pick the"
    " narrowest built-in data role; administrative roles are for people, through PIM.",
    references=[Reference("Microsoft cloud security benchmark", "v1", "PA-7")],
)
def azure_authorization_roleassignment_least_privilege(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    role = str(args.props.get("roleDefinitionId") or "")
    name = PRIVILEGED_ROLES.get(role.rsplit("/", 1)[-1].lower())
    if name:
        report(f"roleDefinitionId grants {name}", None)
    scope = args.props.get("scope")
    if isinstance(scope, str) and not RESOURCE_SCOPE.match(scope):
        report(f"scope {scope} is broader than one resource", None)
