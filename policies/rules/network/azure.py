"""Azure network rules: nothing but HTTPS to the ingress is open to the internet, and every
subnet has a network security group."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list
from ..rule import RuleSet, checkov

RULES = RuleSet("network", substrate="azure")

NSG = "azure-native:network:NetworkSecurityGroup"
SECURITY_RULE = "azure-native:network:SecurityRule"
SUBNET = "azure-native:network:Subnet"
# Sources that mean "anyone on the internet" in an NSG rule.
INTERNET = {"*", "internet", "any", "0.0.0.0/0", "0.0.0.0", "::/0"}
HTTPS = "443"


def _sources(rule: Mapping[str, Any]) -> list[str]:
    return [
        str(s).lower()
        for s in [rule.get("sourceAddressPrefix"), *as_list(rule.get("sourceAddressPrefixes"))]
        if s is not None
    ]


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
    references=(checkov("CKV_AZURE_9"), checkov("CKV_AZURE_10")),
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
        if not INTERNET.intersection(_sources(rule)):
            continue
        opened = [p for p in _ports(rule) if p != HTTPS]
        if opened:
            report(
                f"rule {rule.get('name')} allows inbound from the internet to port(s) "
                f"{', '.join(opened)}",
                None,
            )


@RULES.resource(
    "azure-network-subnet-has-nsg",
    types=(SUBNET,),
    description="Every subnet has a network security group.",
    severity=Severity.HIGH,
    remediation="Set networkSecurityGroup on the subnet (components/azure/network.py makes one"
    " NSG per subnet).",
    references=(checkov("CKV2_AZURE_31"),),
)
def azure_network_subnet_has_nsg(args: ResourceValidationArgs, report: ReportViolation) -> None:
    nsg = args.props.get("networkSecurityGroup") or {}
    if not nsg.get("id"):
        report("subnet has no network security group", None)
