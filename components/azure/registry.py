"""Registry role on Azure: one Premium container registry per stage, one repository per service.
No admin user, no anonymous pull, no public network access: pulls go through a private endpoint
with the services' managed identity."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from components.azure.context import ACR_PULL, AzureContext, child
from components.azure.network import private_endpoint
from components.roles import role_token

# Premium is the SKU that can turn public network access off and take private endpoints.
SKU = "Premium"


@dataclass(frozen=True)
class RegistryInputs:
    endpoints_subnet_id: pulumi.Input[str]
    zone_id: pulumi.Input[str]
    puller_principal_id: pulumi.Input[str]
    """The services' identity, the only one that pulls."""


class Registry(pulumi.ComponentResource):
    registry_url: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]
    registry_id: pulumi.Output[str]

    def __init__(
        self, name: str, ctx: AzureContext, inputs: RegistryInputs, parent: pulumi.Resource
    ) -> None:
        super().__init__(role_token("azure", "Registry"), name, None, child(parent))
        registry = azure.containerregistry.Registry(
            f"{name}-acr",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            registry_name=ctx.global_name("cr"),
            sku=azure.containerregistry.SkuArgs(name=SKU),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            public_network_access="Disabled",
            network_rule_set=azure.containerregistry.NetworkRuleSetArgs(default_action="Deny"),
            # Promotion imports images with `az acr import`, an ARM operation of a trusted service.
            network_rule_bypass_options="AzureServices",
            policies=azure.containerregistry.PoliciesArgs(
                # No `az acr export` of images out of a registry without public access.
                export_policy=azure.containerregistry.ExportPolicyArgs(status="disabled"),
            ),
            zone_redundancy="Enabled",
            tags=ctx.tags,
            opts=child(self),
        )
        private_endpoint(
            f"{name}-endpoint",
            ctx,
            self,
            target_id=registry.id,
            group_id="registry",
            subnet_id=inputs.endpoints_subnet_id,
            zone_id=inputs.zone_id,
        )
        self.pull_grant = ctx.grant(
            f"{name}-pull", ACR_PULL, inputs.puller_principal_id, registry.id, self
        )
        self.registry_url = registry.login_server
        self.registry_id = registry.id
        # Repositories exist in ACR as soon as an image is pushed or imported into them.
        self.repository_urls = {
            service: pulumi.Output.concat(registry.login_server, "/", service)
            for service in sorted(ctx.spec.shape.services)
        }
        self.register_outputs(
            {"registryUrl": self.registry_url, "repositoryUrls": self.repository_urls}
        )
