"""Keys role on Azure: a Key Vault per stage (RBAC, soft delete, purge protection where the
stage protects its data, reachable only through a private endpoint) holding the app secrets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from components.azure.context import KEY_VAULT_SECRETS_USER, AzureContext, child
from components.azure.network import private_endpoint
from components.roles import role_token


def _entry(name: str) -> Callable[[dict[str, str]], str]:
    return lambda values: values[name]


def secret_name(key: str) -> str:
    """Key Vault secret names allow letters, digits and hyphens."""
    return "app-secret-" + "".join(c if c.isalnum() else "-" for c in key.lower())


@dataclass(frozen=True)
class KeysInputs:
    """What the keys role needs from the network and the workload."""

    endpoints_subnet_id: pulumi.Input[str]
    zone_id: pulumi.Input[str]
    reader_principal_id: pulumi.Input[str]
    """The services' identity, which reads the secrets by Key Vault reference."""


class Keys(pulumi.ComponentResource):
    key_id: pulumi.Output[str]
    vault_uri: pulumi.Output[str]
    secret_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        ctx: AzureContext,
        secret_values: pulumi.Output[dict[str, str]],
        inputs: KeysInputs,
        parent: pulumi.Resource,
    ) -> None:
        super().__init__(role_token("azure", "Keys"), name, None, child(parent))
        protect = ctx.spec.scale.database.deletion_protection
        vault = azure.keyvault.Vault(
            f"{name}-vault",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            vault_name=ctx.global_name("kv"),
            properties=azure.keyvault.VaultPropertiesArgs(
                tenant_id=ctx.tenant_id,
                sku=azure.keyvault.SkuArgs(family="A", name=azure.keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=90,
                # Purge protection cannot be turned off again, and Azure refuses an explicit
                # false: stages that do not protect their data leave it unset.
                enable_purge_protection=True if protect else None,
                enabled_for_deployment=False,
                enabled_for_disk_encryption=False,
                enabled_for_template_deployment=False,
                public_network_access="Disabled",
                network_acls=azure.keyvault.NetworkRuleSetArgs(
                    default_action="Deny", bypass="AzureServices"
                ),
            ),
            tags=ctx.tags,
            opts=child(self),
        )
        private_endpoint(
            f"{name}-vault-endpoint",
            ctx,
            self,
            target_id=vault.id,
            group_id="vault",
            subnet_id=inputs.endpoints_subnet_id,
            zone_id=inputs.zone_id,
        )
        self.reader_grant = ctx.grant(
            f"{name}-secrets-user",
            KEY_VAULT_SECRETS_USER,
            inputs.reader_principal_id,
            vault.id,
            self,
        )
        self.secret_ids = {}
        for key in ctx.spec.secret_keys:
            secret = azure.keyvault.Secret(
                f"{name}-{key.lower()}",
                resource_group_name=ctx.resource_group_name,
                vault_name=vault.name,
                secret_name=secret_name(key),
                properties=azure.keyvault.SecretPropertiesArgs(
                    value=secret_values.apply(_entry(key)),  # stays secret
                    content_type="text/plain",
                ),
                tags=ctx.tags,
                opts=child(self),
            )
            # Versionless URI: the services pick up a rotated value without a new revision.
            # The URI names the secret, it is not the value: keep it readable in plans.
            self.secret_ids[key] = pulumi.Output.unsecret(
                secret.properties.apply(lambda p: p.secret_uri)
            )
        self.key_id = vault.id
        self.vault_uri = vault.properties.apply(lambda p: p.vault_uri or "")
        self.register_outputs({"keyId": self.key_id, "secretIds": self.secret_ids})
