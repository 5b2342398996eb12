"""Network role on Azure: one VNet with subnets for the container apps environment, the database
(delegated) and private endpoints; an NSG per subnet; private DNS zones linked to the VNet."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure

from components.azure.context import AzureContext, child
from components.roles import role_token
from components.spec.loader import PROJECT

# Workload-profile environments need at least a /27 for their infrastructure subnet.
MIN_APPS_PREFIX = 27
# Private DNS zones the stage resolves privately: purpose -> zone name. The database zone ends in
# .postgres.database.azure.com, as VNet-integrated flexible servers require.
PRIVATE_ZONES = {
    "database": "private.postgres.database.azure.com",
    "registry": "privatelink.azurecr.io",
    "vault": "privatelink.vaultcore.azure.net",
    "blob": "privatelink.blob.core.windows.net",
}


@dataclass(frozen=True)
class Rule:
    """One inbound NSG rule."""

    name: str
    priority: int
    access: str
    source: str
    ports: str
    description: str


class Network(pulumi.ComponentResource):
    """Only the apps subnet takes traffic from the internet, and only HTTPS to the ingress."""

    network_id: pulumi.Output[str]
    apps_subnet_id: pulumi.Output[str]
    database_subnet_id: pulumi.Output[str]
    endpoints_subnet_id: pulumi.Output[str]
    zone_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, ctx: AzureContext, parent: pulumi.Resource) -> None:
        super().__init__(role_token("azure", "Network"), name, None, child(parent))
        cidr = ipaddress.IPv4Network(ctx.spec.identity.cidr)
        apps, database, endpoints = list(cidr.subnets(ctx.spec.shape.network.subnet_bits))[:3]
        if apps.prefixlen > MIN_APPS_PREFIX:
            raise ValueError(
                f"{PROJECT}:cidr {cidr} with shape.network.subnetBits gives /{apps.prefixlen} "
                f"subnets; the container apps environment needs at least a /{MIN_APPS_PREFIX}"
            )
        self.vnet = azure.network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            address_space=azure.network.AddressSpaceArgs(address_prefixes=[str(cidr)]),
            tags=ctx.tags,
            opts=child(self),
        )
        port = str(ctx.spec.shape.database.port)
        apps_nsg = self._nsg(
            name,
            "apps",
            ctx,
            [Rule("https-from-internet", 100, "Allow", "Internet", "443", "Internet to ingress")],
        )
        db_nsg = self._nsg(
            name,
            "database",
            ctx,
            [
                Rule("postgres-from-apps", 100, "Allow", str(apps), port, "Services to database"),
                # Zone-redundant HA replicates between servers inside the delegated subnet.
                Rule("within-subnet", 110, "Allow", str(database), "*", "High availability"),
                Rule("deny-vnet", 4000, "Deny", "VirtualNetwork", "*", "Nothing else"),
            ],
        )
        endpoints_nsg = self._nsg(
            name,
            "endpoints",
            ctx,
            [
                Rule("https-from-apps", 100, "Allow", str(apps), "443", "Services to endpoints"),
                Rule("deny-vnet", 4000, "Deny", "VirtualNetwork", "*", "Nothing else"),
            ],
        )
        # One subnet after another: Azure refuses concurrent changes to one VNet's subnets.
        apps_subnet = self._subnet(
            f"{name}-apps", ctx, apps, apps_nsg, "Microsoft.App/environments", None
        )
        db_subnet = self._subnet(
            f"{name}-database",
            ctx,
            database,
            db_nsg,
            "Microsoft.DBforPostgreSQL/flexibleServers",
            apps_subnet,
        )
        endpoints_subnet = self._subnet(
            f"{name}-endpoints", ctx, endpoints, endpoints_nsg, None, db_subnet
        )
        self.zone_ids = {
            purpose: self._private_zone(f"{name}-{purpose}-zone", zone, ctx)
            for purpose, zone in PRIVATE_ZONES.items()
        }
        self.network_id = self.vnet.id
        self.apps_subnet_id = apps_subnet.id
        self.database_subnet_id = db_subnet.id
        self.endpoints_subnet_id = endpoints_subnet.id
        self.register_outputs(
            {
                "networkId": self.network_id,
                "appsSubnetId": self.apps_subnet_id,
                "databaseSubnetId": self.database_subnet_id,
                "endpointsSubnetId": self.endpoints_subnet_id,
            }
        )

    def _nsg(
        self, name: str, tier: str, ctx: AzureContext, rules: list[Rule]
    ) -> azure.network.NetworkSecurityGroup:
        """Inbound rules as listed, and every other inbound from the internet denied."""
        deny_internet = Rule("deny-internet", 4096, "Deny", "Internet", "*", "No other inbound")
        return azure.network.NetworkSecurityGroup(
            f"{name}-{tier}-nsg",
            resource_group_name=ctx.resource_group_name,
            location=ctx.location,
            security_rules=[
                azure.network.SecurityRuleArgs(
                    name=rule.name,
                    priority=rule.priority,
                    direction="Inbound",
                    access=rule.access,
                    protocol="*" if rule.ports == "*" else "Tcp",
                    source_address_prefix=rule.source,
                    source_port_range="*",
                    destination_address_prefix="*",
                    destination_port_range=rule.ports,
                    description=rule.description,
                )
                for rule in [*rules, deny_internet]
            ],
            tags=ctx.tags,
            opts=child(self),
        )

    def _subnet(
        self,
        name: str,
        ctx: AzureContext,
        prefix: ipaddress.IPv4Network,
        nsg: azure.network.NetworkSecurityGroup,
        delegation: str | None,
        after: pulumi.Resource | None,
    ) -> azure.network.Subnet:
        return azure.network.Subnet(
            f"{name}-subnet",
            resource_group_name=ctx.resource_group_name,
            virtual_network_name=self.vnet.name,
            address_prefix=str(prefix),
            network_security_group=azure.network.NetworkSecurityGroupArgs(id=nsg.id),
            delegations=(
                [azure.network.DelegationArgs(name="delegation", service_name=delegation)]
                if delegation
                else None
            ),
            # NSG rules also apply to private endpoints in the subnet.
            private_endpoint_network_policies="Enabled",
            opts=child(self, depends_on=[after] if after else None),
        )

    def _private_zone(self, name: str, zone: str, ctx: AzureContext) -> pulumi.Output[str]:
        """A private DNS zone (its name is unique per resource group) linked to the VNet."""
        private_zone = azure.privatedns.PrivateZone(
            name,
            resource_group_name=ctx.resource_group_name,
            private_zone_name=zone,
            location="global",
            tags=ctx.tags,
            opts=child(self),
        )
        link = azure.privatedns.VirtualNetworkLink(
            f"{name}-link",
            resource_group_name=ctx.resource_group_name,
            private_zone_name=private_zone.name,
            virtual_network=azure.privatedns.SubResourceArgs(id=self.vnet.id),
            registration_enabled=False,
            location="global",
            tags=ctx.tags,
            opts=child(self),
        )
        # Users of the zone wait for the link, so names resolve in the VNet once they exist.
        return pulumi.Output.all(private_zone.id, link.id).apply(lambda ids: str(ids[0]))


def private_endpoint(
    name: str,
    ctx: AzureContext,
    parent: pulumi.Resource,
    *,
    target_id: pulumi.Input[str],
    group_id: str,
    subnet_id: pulumi.Input[str],
    zone_id: pulumi.Input[str],
) -> azure.network.PrivateEndpoint:
    """A private endpoint for one sub-resource, registered in the matching private DNS zone."""
    endpoint = azure.network.PrivateEndpoint(
        name,
        resource_group_name=ctx.resource_group_name,
        location=ctx.location,
        subnet=azure.network.SubnetArgs(id=subnet_id),
        private_link_service_connections=[
            azure.network.PrivateLinkServiceConnectionArgs(
                name=group_id, private_link_service_id=target_id, group_ids=[group_id]
            )
        ],
        tags=ctx.tags,
        opts=child(parent),
    )
    azure.network.PrivateDnsZoneGroup(
        f"{name}-dns",
        resource_group_name=ctx.resource_group_name,
        private_endpoint_name=endpoint.name,
        private_dns_zone_group_name="default",
        private_dns_zone_configs=[
            azure.network.PrivateDnsZoneConfigArgs(name=group_id, private_dns_zone_id=zone_id)
        ],
        opts=child(parent),
    )
    return endpoint
