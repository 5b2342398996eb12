"""What every Azure role of one stage shares: the spec, its tags, location, resource group and
the subscription facts from the provider's client config."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_azure_native as azure

from components.spec import StageSpec

# Built-in role definitions (the same GUIDs in every tenant).
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
KEY_VAULT_SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"


@dataclass(frozen=True)
class AzureContext:
    spec: StageSpec
    tags: dict[str, str]
    location: str
    resource_group_name: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    tenant_id: pulumi.Output[str]

    @classmethod
    def create(cls, name: str, spec: StageSpec, parent: pulumi.Resource) -> AzureContext:
        """Create the stage's resource group and read the provider's client config."""
        tags = spec.identity.resource_tags()
        group = azure.resources.ResourceGroup(
            f"{name}-rg", location=spec.identity.region, tags=tags, opts=child(parent)
        )
        client = azure.authorization.get_client_config_output(
            opts=pulumi.InvokeOutputOptions(parent=parent)
        )
        return cls(
            spec=spec,
            tags=tags,
            location=spec.identity.region,
            resource_group_name=group.name,
            subscription_id=client.subscription_id,
            tenant_id=client.tenant_id,
        )

    def global_name(self, kind: str) -> pulumi.Output[str]:
        """A name for a resource whose name is global in Azure (vault, registry, storage).

        Letters and digits only, at most 24 characters: the stack name without punctuation, the
        kind, then a hash of subscription and project. The hash is the same in every stage of
        one subscription, so stages differ only by the stack part (which parity normalizes),
        and the same stack in another subscription or project does not collide.
        """
        stack = re.sub(r"[^a-z0-9]", "", self.spec.identity.stack.lower())
        stack = stack if stack[:1].isalpha() else f"s{stack}"
        project = self.spec.identity.project
        room = 24 - len(kind) - 8
        return self.subscription_id.apply(
            lambda sub: (
                f"{stack[:room]}{kind}"
                + hashlib.sha256(f"{sub}/{project}".encode()).hexdigest()[:8]
            )
        )

    def role_definition(self, role_id: str) -> pulumi.Output[str]:
        return self.subscription_id.apply(
            lambda sub: (
                f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
            )
        )

    def grant(
        self,
        name: str,
        role_id: str,
        principal_id: pulumi.Input[str],
        scope: pulumi.Input[str],
        parent: pulumi.Resource,
    ) -> azure.authorization.RoleAssignment:
        """An Azure RBAC role assignment for a managed identity, on one resource."""
        return azure.authorization.RoleAssignment(
            name,
            principal_id=principal_id,
            principal_type="ServicePrincipal",
            role_definition_id=self.role_definition(role_id),
            scope=scope,
            opts=child(parent),
        )


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def workload_identity(
    name: str, ctx: AzureContext, parent: pulumi.Resource
) -> azure.managedidentity.UserAssignedIdentity:
    """The identity the services run as: it pulls images, reads secrets, signs in to the
    database and writes to storage; each role that owns a resource grants it access."""
    return azure.managedidentity.UserAssignedIdentity(
        name,
        resource_group_name=ctx.resource_group_name,
        location=ctx.location,
        tags=ctx.tags,
        opts=child(parent),
    )
