"""Azure network rules: nothing but HTTPS to the ingress is open to the internet, a stage's
tiers are isolated from each other, every subnet has a network security group that applies to
its private endpoints too, and every data service is reached through a private endpoint."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..graph import as_list, of_type, within_private
from ..rule import RuleSet, checkov, cis_azure

RULES = RuleSet("network", substrate="azure")

NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
SUBNET = "azure-native:network:Subnet"
# Sources that mean "anyone on the internet" in an NSG rule (service tags and wildcards); an
# address or prefix outside the private ranges is the internet too, so that prefixes that only
# together cover everything (0.0.0.0/1 and 128.0.0.0/1) are each caught.
INTERNET = {"*", "internet", "any"}
# Sources that admit every tier of the stage (Azure's VirtualNetwork tag spans the whole VNet).
ANY_TIER = {"*", "any", "virtualnetwork", "0.0.0.0/0", "::/0"}
HTTPS = "443"


def _sources(rule: Mapping[str, Any]) -> list[str]:
    return [
        str(s).lower()
        for s in [rule.get("sourceAddressPrefix"), *as_list(rule.get("sourceAddressPrefixes"))]
        if s is not None
    ]


def public(source: str) -> bool:
    """Whether an NSG source admits addresses on the internet."""
    if source in INTERNET:
        return True
    try:
        network = ipaddress.ip_network(source, strict=False)
    except ValueError:
        return False  # a service tag other than Internet (VirtualNetwork, AzureLoadBalancer)
    return not within_private(network)


def _ports(rule: Mapping[str, Any]) -> list[str]:
    return [
        str(p)
        for p in [rule.get("destinationPortRange"), *as_list(rule.get("destinationPortRanges"))]
        if p is not None
    ]


@RULES.resource(
    "azure-network-nsg-disallow-internet-ingress-except-https",
    types=(NSG, SECURITY_RULE),
    description="Inbound rules that allow traffic from the internet open only port 443 (the"
    " HTTPS ingress of the container apps environment).",
    severity=Severity.CRITICAL,
    remediation="Allow inbound from Internet only to destinationPortRange 443; reach anything"
    " else through a private endpoint or from a subnet of the VNet.",
    references=(
        cis_azure("6.1"),
        cis_azure("6.2"),
        cis_azure("6.4"),
        checkov("CKV_AZURE_9"),
        checkov("CKV_AZURE_10"),
        checkov("CKV_AZURE_77"),
    ),
)
def azure_network_nsg_disallow_internet_ingress_except_https(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    rules = as_list(args.props.get("securityRules")) if args.resource_type == NSG else [args.props]
    for rule in rules:
        if str(rule.get("direction", "")).lower() != "inbound":
            continue
        if str(rule.get("access", "")).lower() != "allow":
            continue
        if not any(public(source) for source in _sources(rule)):
            continue
        opened = [p for p in _ports(rule) if p != HTTPS]
        if opened:
            report(
                f"rule {rule.get('name')} allows inbound from the internet to port(s) "
                f"{', '.join(opened)}",
                None,
            )


def _inbound_allows(rules: list[Any]) -> list[Mapping[str, Any]]:
    return [
        r
        for r in rules
        if str(r.get("direction", "")).lower() == "inbound"
        and str(r.get("access", "")).lower() == "allow"
    ]


@RULES.resource(
    "azure-network-nsg-tier-isolation",
    types=(NSG, SECURITY_RULE),
    description="A stage's tiers are isolated: no inbound rule admits any source or the whole"
    " VNet, and an NSG that admits nothing from the internet (a private tier) denies the rest"
    " of the VNet, which Azure's default AllowVnetInBound would otherwise admit.",
    severity=Severity.HIGH,
    remediation="Name the subnet that may connect (sourceAddressPrefix of the apps subnet) and"
    " end the NSG with a Deny from VirtualNetwork (components/azure/network.py).",
    references=(cis_azure("6.3"),),
)
def azure_network_nsg_tier_isolation(args: ResourceValidationArgs, report: ReportViolation) -> None:
    rules = as_list(args.props.get("securityRules")) if args.resource_type == NSG else [args.props]
    allows = _inbound_allows(rules)
    for rule in allows:
        wide = sorted(ANY_TIER.intersection(_sources(rule)))
        if wide:
            report(f"rule {rule.get('name')} admits any source ({', '.join(wide)})", None)
    if args.resource_type != NSG:
        return
    if any(public(source) for rule in allows for source in _sources(rule)):
        return  # the ingress tier: the internet rule above governs it
    denies_vnet = any(
        str(r.get("direction", "")).lower() == "inbound"
        and str(r.get("access", "")).lower() == "deny"
        and {"virtualnetwork", "*", "any"} & set(_sources(r))
        and "*" in _ports(r)
        for r in rules
    )
    if not denies_vnet:
        report("a private tier's NSG has no inbound Deny from VirtualNetwork", None)


@RULES.resource(
    "azure-network-subnet-has-nsg",
    types=(SUBNET,),
    description="Every subnet has a network security group, and its rules apply to the private"
    " endpoints in it (privateEndpointNetworkPolicies Enabled).",
    severity=Severity.HIGH,
    remediation="Set networkSecurityGroup on the subnet (components/azure/network.py makes one"
    " NSG per subnet) and privateEndpointNetworkPolicies to Enabled.",
    references=(checkov("CKV2_AZURE_31"),),
)
def azure_network_subnet_has_nsg(args: ResourceValidationArgs, report: ReportViolation) -> None:
    nsg = args.props.get("networkSecurityGroup") or {}
    if not nsg.get("id"):
        report("subnet has no network security group", None)
    # Azure's default is Disabled: NSG rules would not apply to the subnet's private endpoints.
    policies = args.props.get("privateEndpointNetworkPolicies")
    if policies not in ("Enabled", "NetworkSecurityGroupEnabled"):
        report(f"privateEndpointNetworkPolicies is {policies or 'unset (Disabled)'}", None)


# Services reached only through a private endpoint, with the input that holds their name.
PRIVATE_SERVICES = {
    "azure-native:storage:StorageAccount": "accountName",
    "azure-native:containerregistry:Registry": "registryName",
    "azure-native:keyvault:Vault": "vaultName",
}
ENDPOINT = "azure-native:network:PrivateEndpoint"


@RULES.stack(
    "azure-network-privateendpoint-for-every-data-service",
    description="Every storage account, container registry and key vault of the stage has a"
    " private endpoint in the stage's VNet.",
    severity=Severity.HIGH,
    remediation="Keep the private endpoint components/azure creates for each service (with its"
    " private DNS zone group).",
    references=(
        cis_azure("3.10"),
        cis_azure("8.7"),
        checkov("CKV2_AZURE_33"),
        checkov("CKV2_AZURE_32"),
    ),
)
def azure_network_privateendpoint_for_every_data_service(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    linked = [
        str(connection.get("privateLinkServiceId") or "").rstrip("/").lower()
        for endpoint in of_type(args.resources, ENDPOINT)
        for connection in as_list(endpoint.props.get("privateLinkServiceConnections"))
    ]
    for resource in of_type(args.resources, *PRIVATE_SERVICES):
        name = str(resource.props.get(PRIVATE_SERVICES[resource.resource_type]) or "").lower()
        if not any(target.endswith(f"/{name}") for target in linked):
            report(f"{resource.name} has no private endpoint", resource.urn)
