"""Database role on Azure: PostgreSQL flexible server of the shape's major version, reachable only
inside the VNet (delegated subnet, private DNS zone), TLS required, Entra ID sign-in only: there
is no administrator password anywhere, in config or in state."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from components.azure.context import AzureContext, child
from components.azure.substrate import DEFAULT_SKU
from components.roles import role_token
from components.spec.model import DatabaseScale

# Flexible server compute tiers by SKU family: Standard_B* burstable, Standard_E* memory optimized.
TIERS = {"Standard_B": "Burstable", "Standard_E": "MemoryOptimized"}


def sku_of(scale: DatabaseScale) -> str:
    """The stage's flexible-server SKU: its own, or the substrate's smallest."""
    return scale.instance_class or DEFAULT_SKU


def tier_of(sku: str) -> str:
    """The compute tier a flexible-server SKU name belongs to."""
    return next((t for p, t in TIERS.items() if sku.startswith(p)), "GeneralPurpose")


@dataclass(frozen=True)
class DatabaseInputs:
    subnet_id: pulumi.Input[str]
    zone_id: pulumi.Input[str]
    admin_principal_id: pulumi.Input[str]
    admin_name: pulumi.Input[str]
    """The services' identity is the Entra administrator; it signs in with a token."""


class Database(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    engine_version: pulumi.Output[str]
    server_name: pulumi.Output[str]

    def __init__(
        self, name: str, ctx: AzureContext, inputs: DatabaseInputs, parent: pulumi.Resource
    ) -> None:
        super().__init__(role_token("azure", "Database"), name, None, child(parent))
        shape, scale = ctx.spec.shape.database, ctx.spec.scale.database
        server = azure.dbforpostgresql.Server(
            f"{name}-postgres",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            version=str(shape.major_version),
            sku=azure.dbforpostgresql.SkuArgs(name=sku_of(scale), tier=tier_of(sku_of(scale))),
            storage=azure.dbforpostgresql.StorageArgs(
                storage_size_gb=scale.storage_gb, auto_grow="Enabled"
            ),
            backup=azure.dbforpostgresql.BackupArgs(
                backup_retention_days=scale.backup_retention_days,
                # A second region's copy where the stage protects its data.
                geo_redundant_backup="Enabled" if scale.deletion_protection else "Disabled",
            ),
            high_availability=azure.dbforpostgresql.HighAvailabilityArgs(
                mode="ZoneRedundant" if scale.multi_az else "Disabled"
            ),
            network=azure.dbforpostgresql.NetworkArgs(
                delegated_subnet_resource_id=inputs.subnet_id,
                private_dns_zone_arm_resource_id=inputs.zone_id,
                public_network_access="Disabled",
            ),
            auth_config=azure.dbforpostgresql.AuthConfigArgs(
                active_directory_auth="Enabled", password_auth="Disabled", tenant_id=ctx.tenant_id
            ),
            tags=ctx.tags,
            # Where the stage protects its data, `pulumi destroy` leaves the database in place,
            # and protect refuses to delete it at all (the policy pack can see protect; it is
            # never sent retainOnDelete).
            opts=child(
                self,
                retain_on_delete=scale.deletion_protection,
                protect=scale.deletion_protection,
            ),
        )
        admin = azure.dbforpostgresql.AdministratorsMicrosoftEntra(
            f"{name}-entra-admin",
            resource_group_name=ctx.resource_group_name,
            server_name=server.name,
            object_id=inputs.admin_principal_id,
            principal_name=inputs.admin_name,
            principal_type="ServicePrincipal",
            tenant_id=ctx.tenant_id,
            opts=child(self),
        )
        database = azure.dbforpostgresql.Database(
            f"{name}-db",
            resource_group_name=ctx.resource_group_name,
            server_name=server.name,
            database_name=shape.name,
            charset="UTF8",
            collation="en_US.utf8",
            opts=child(self, depends_on=[admin]),
        )
        # Server parameters, one after another: the server takes one change at a time.
        settings = {
            "require_secure_transport": "on",
            "ssl_min_protocol_version": f"TLSv{ctx.spec.shape.tls.min_version}",
            "log_connections": "on",
        }
        previous: pulumi.Resource = database
        for setting, value in settings.items():
            previous = azure.dbforpostgresql.Configuration(
                f"{name}-{setting.replace('_', '-')}",
                resource_group_name=ctx.resource_group_name,
                server_name=server.name,
                configuration_name=setting,
                value=value,
                source="user-override",
                opts=child(self, depends_on=[previous]),
            )
        self.server_name = server.name
        self.endpoint = pulumi.Output.concat(
            server.fully_qualified_domain_name, ":", str(shape.port)
        )
        self.engine_version = server.version.apply(lambda v: v or str(shape.major_version))
        self.register_outputs({"endpoint": self.endpoint, "engineVersion": self.engine_version})
