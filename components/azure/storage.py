"""Storage role on Azure: a private StorageV2 account (no public blob access, HTTPS and TLS 1.2
only, no shared keys, Entra ID sign-in) with blob soft delete and versioning, and one container."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from components.azure.context import STORAGE_BLOB_DATA_CONTRIBUTOR, AzureContext, child
from components.azure.network import private_endpoint
from components.roles import role_token

CONTAINER = "data"
# Deleted blobs and containers stay recoverable this long (days), in every stage.
SOFT_DELETE_DAYS = 30


@dataclass(frozen=True)
class StorageInputs:
    endpoints_subnet_id: pulumi.Input[str]
    zone_id: pulumi.Input[str]
    writer_principal_id: pulumi.Input[str]


class Storage(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    """The container's URL (``https://<account>.blob.core.windows.net/data``)."""
    account_id: pulumi.Output[str]

    def __init__(
        self, name: str, ctx: AzureContext, inputs: StorageInputs, parent: pulumi.Resource
    ) -> None:
        super().__init__(role_token("azure", "Storage"), name, None, child(parent))
        enabled = azure.storage.EncryptionServiceArgs(enabled=True, key_type="Account")
        account = azure.storage.StorageAccount(
            f"{name}-account",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            account_name=ctx.global_name("st"),
            kind="StorageV2",
            sku=azure.storage.SkuArgs(name="Standard_ZRS"),
            access_tier=azure.storage.AccessTier.HOT,
            allow_blob_public_access=False,
            enable_https_traffic_only=True,
            minimum_tls_version="TLS1_2",
            # Services sign in with their managed identity; account keys and SAS stay unused.
            allow_shared_key_access=False,
            default_to_o_auth_authentication=True,
            allow_cross_tenant_replication=False,
            is_local_user_enabled=False,
            is_sftp_enabled=False,
            public_network_access="Disabled",
            network_rule_set=azure.storage.NetworkRuleSetArgs(
                default_action=azure.storage.DefaultAction.DENY, bypass="AzureServices"
            ),
            encryption=azure.storage.EncryptionArgs(
                key_source="Microsoft.Storage",
                # A second, infrastructure-level layer of encryption where the shape asks for it.
                require_infrastructure_encryption=ctx.spec.shape.encryption.at_rest,
                services=azure.storage.EncryptionServicesArgs(blob=enabled, file=enabled),
            ),
            tags=ctx.tags,
            opts=child(self),
        )
        azure.storage.BlobServiceProperties(
            f"{name}-blob-service",
            resource_group_name=ctx.resource_group_name,
            account_name=account.name,
            blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=azure.storage.DeleteRetentionPolicyArgs(
                enabled=True, days=SOFT_DELETE_DAYS
            ),
            container_delete_retention_policy=azure.storage.DeleteRetentionPolicyArgs(
                enabled=True, days=SOFT_DELETE_DAYS
            ),
            opts=child(self),
        )
        container = azure.storage.BlobContainer(
            f"{name}-container",
            resource_group_name=ctx.resource_group_name,
            account_name=account.name,
            container_name=CONTAINER,
            public_access=azure.storage.PublicAccess.NONE,
            opts=child(self),
        )
        private_endpoint(
            f"{name}-blob-endpoint",
            ctx,
            self,
            target_id=account.id,
            group_id="blob",
            subnet_id=inputs.endpoints_subnet_id,
            zone_id=inputs.zone_id,
        )
        ctx.grant(
            f"{name}-writer",
            STORAGE_BLOB_DATA_CONTRIBUTOR,
            inputs.writer_principal_id,
            account.id,
            self,
        )
        self.account_id = account.id
        self.bucket_name = pulumi.Output.concat(
            account.primary_endpoints.apply(lambda e: e.blob.rstrip("/")), "/", container.name
        )
        self.register_outputs({"bucketName": self.bucket_name, "accountId": self.account_id})
