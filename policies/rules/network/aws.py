"""AWS network rules: no admin or database ports open to the internet, tiers that admit only
the tier in front of them, a managed and closed default security group, flow logs of all
traffic on every VPC, no public IPs for subnets and services."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..graph import as_list, of_type, within_private
from ..rule import RuleSet, checkov, cis_aws, config_schema

RULES = RuleSet("network", substrate="aws")

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
ECS_SERVICE = "aws:ecs/service:Service"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
DB_INSTANCE = "aws:rds/instance:Instance"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"


def public(cidr: str) -> bool:
    """Whether a CIDR admits addresses on the internet (outside RFC 1918 / RFC 4193), so that
    0.0.0.0/1 and 128.0.0.0/1, which only together are everyone, are each caught."""
    try:
        return not within_private(ipaddress.ip_network(cidr, strict=False))
    except ValueError:
        return False


def _ingress(args: ResourceValidationArgs) -> Iterator[tuple[Mapping[str, Any], list[str]]]:
    """Each ingress permission of the resource, with the CIDRs it opens."""
    props = args.props
    if args.resource_type == SECURITY_GROUP:
        for rule in as_list(props.get("ingress")):
            yield rule, [*as_list(rule.get("cidrBlocks")), *as_list(rule.get("ipv6CidrBlocks"))]
    elif args.resource_type == SECURITY_GROUP_RULE:
        if props.get("type") == "ingress":
            yield props, [*as_list(props.get("cidrBlocks")), *as_list(props.get("ipv6CidrBlocks"))]
    else:
        yield props, [c for c in (props.get("cidrIpv4"), props.get("cidrIpv6")) if c]


def _covers(rule: Mapping[str, Any], port: int) -> bool:
    protocol = str(rule.get("protocol", rule.get("ipProtocol", ""))).lower()
    if protocol in ("-1", "all"):
        return True
    low, high = rule.get("fromPort"), rule.get("toPort", rule.get("fromPort"))
    if low is None:
        return False
    return int(low) <= port <= int(high if high is not None else low)


@RULES.resource(
    "aws-ec2-securitygroup-disallow-public-admin-ingress",
    types=(SECURITY_GROUP, SECURITY_GROUP_RULE, INGRESS_RULE),
    description="No ingress from the internet (0.0.0.0/0, ::/0 or any public range) to SSH, RDP"
    " or the database port.",
    severity=Severity.CRITICAL,
    remediation="Open the port only to a security group (referencedSecurityGroupId) or a"
    " private CIDR; reach hosts through SSM Session Manager instead of SSH or RDP.",
    references=(cis_aws("5.2"), cis_aws("5.3"), checkov("CKV_AWS_24"), checkov("CKV_AWS_25")),
    config=config_schema({"ports": {"type": "array", "items": {"type": "integer"}, "minItems": 1}}),
)
def aws_ec2_securitygroup_disallow_public_admin_ingress(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    ports = [int(p) for p in args.get_config().get("ports", [22, 3389])]
    for rule, cidrs in _ingress(args):
        for cidr in (c for c in cidrs if public(str(c))):
            for port in (p for p in ports if _covers(rule, p)):
                report(f"ingress from {cidr} reaches port {port}", None)


@RULES.resource(
    "aws-ec2-defaultsecuritygroup-no-rules",
    types=(DEFAULT_SECURITY_GROUP,),
    description="The default security group of every VPC has no ingress and no egress rules.",
    severity=Severity.MEDIUM,
    remediation="Manage the default security group with empty ingress and egress lists and"
    " attach purpose-made security groups instead.",
    references=(cis_aws("5.4"), checkov("CKV2_AWS_12")),
)
def aws_ec2_defaultsecuritygroup_no_rules(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for direction in ("ingress", "egress"):
        count = len(as_list(args.props.get(direction)))
        if count:
            report(f"the default security group has {count} {direction} rule(s)", None)


def _rules_of(resources: list[Any], direction: str) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(security group id, permission, URN of the resource that holds it) for every rule of one
    direction, whatever resource holds it."""
    token = INGRESS_RULE if direction == "ingress" else EGRESS_RULE
    for r in of_type(resources, token):
        yield str(r.props.get("securityGroupId")), r.props, r.urn
    for r in of_type(resources, SECURITY_GROUP_RULE):
        if r.props.get("type") == direction:
            yield str(r.props.get("securityGroupId")), r.props, r.urn
    for r in of_type(resources, SECURITY_GROUP):
        for rule in as_list(r.props.get(direction)):
            yield str(r.props.get("id") or r.name), rule, r.urn


def _cidrs(rule: Mapping[str, Any]) -> list[str]:
    found = [rule.get("cidrIpv4"), rule.get("cidrIpv6")]
    found += [*as_list(rule.get("cidrBlocks")), *as_list(rule.get("ipv6CidrBlocks"))]
    return [str(c) for c in found if c]


def _sources(rule: Mapping[str, Any]) -> list[str]:
    found = [rule.get("referencedSecurityGroupId"), rule.get("sourceSecurityGroupId")]
    return [str(s) for s in [*found, *as_list(rule.get("securityGroups"))] if s]


def _groups(resources: list[Any], token: str, key: str) -> set[str]:
    """The security groups that resources of ``token`` list under ``key`` (dotted)."""
    found: set[str] = set()
    for r in of_type(resources, token):
        value: Any = r.props
        for part in key.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        found.update(str(g) for g in as_list(value))
    return found


@RULES.stack(
    "aws-ec2-securitygroup-tier-isolation",
    description="Each tier admits only the tier in front of it: the database's groups admit"
    " only the services' groups, the services' groups only the load balancer's, neither admits"
    " a CIDR; no group sends every protocol to anywhere.",
    severity=Severity.HIGH,
    remediation="Reference the group in front (referencedSecurityGroupId) instead of a CIDR,"
    " and open egress per port (components/aws/network.py).",
    references=(cis_aws("5.1"), checkov("CKV_AWS_382")),
)
def aws_ec2_securitygroup_tier_isolation(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    resources = list(args.resources)
    balancers = _groups(resources, LOAD_BALANCER, "securityGroups")
    services = _groups(resources, ECS_SERVICE, "networkConfiguration.securityGroups")
    databases = _groups(resources, DB_INSTANCE, "vpcSecurityGroupIds")
    allowed = {**{g: services for g in databases}, **{g: balancers for g in services - databases}}
    for group, rule, urn in _rules_of(resources, "ingress"):
        if group not in allowed:
            continue
        for cidr in _cidrs(rule):
            report(f"{group} admits {cidr}: a tier admits only the group in front of it", urn)
        for source in _sources(rule):
            if source not in allowed[group]:
                report(f"{group} admits {source}, which is not the tier in front of it", urn)
    for group, rule, urn in _rules_of(resources, "egress"):
        protocol = str(rule.get("ipProtocol", rule.get("protocol", ""))).lower()
        if protocol in ("-1", "all") and any(public(c) for c in _cidrs(rule)):
            report(f"{group} sends every protocol to the internet", urn)


def _same_vpc(vpc: Any, member: Any) -> bool:
    """``member`` (a flow log, a default group) belongs to ``vpc``: by id once the VPC exists;
    before (preview, an offline render) as the VPC's sibling in its component."""
    vpc_id = vpc.props.get("id")
    if vpc_id:
        return bool(member.props.get("vpcId") == vpc_id)
    return (
        member.parent is not None and vpc.parent is not None and member.parent.urn == vpc.parent.urn
    )


@RULES.stack(
    "aws-ec2-vpc-default-security-group-managed",
    description="Every VPC's default security group is managed by the stage (so its rules are"
    " emptied); left alone, AWS's default admits all traffic between its members.",
    severity=Severity.MEDIUM,
    remediation="Keep the ec2.DefaultSecurityGroup with empty ingress and egress that"
    " components/aws/network.py declares for the VPC.",
    references=(cis_aws("5.4"), checkov("CKV2_AWS_12")),
)
def aws_ec2_vpc_default_security_group_managed(
    args: StackValidationArgs, report: ReportViolation
) -> None:
    managed = list(of_type(args.resources, DEFAULT_SECURITY_GROUP))
    for vpc in of_type(args.resources, VPC):
        vpc_id = vpc.props.get("id")
        if not any(
            g.props.get("vpcId") == vpc_id
            if vpc_id
            else (
                g.parent is not None and vpc.parent is not None and g.parent.urn == vpc.parent.urn
            )
            for g in managed
        ):
            report(f"VPC {vpc.name}'s default security group is not managed", vpc.urn)


@RULES.stack(
    "aws-ec2-vpc-flow-logs-enabled",
    description="Every VPC has a flow log of all traffic (accepted and rejected).",
    severity=Severity.MEDIUM,
    remediation="Add an aws.ec2.FlowLog for the VPC (trafficType ALL) delivering to a"
    " CloudWatch log group or S3 bucket.",
    references=(cis_aws("3.7"), checkov("CKV2_AWS_11")),
)
def aws_ec2_vpc_flow_logs_enabled(args: StackValidationArgs, report: ReportViolation) -> None:
    flow_logs = [
        f
        for f in of_type(args.resources, FLOW_LOG)
        if f.props.get("vpcId") and f.props.get("trafficType", "ALL") == "ALL"
    ]
    for vpc in of_type(args.resources, VPC):
        vpc_id = vpc.props.get("id")
        # The engine hands stack rules the VPC's id once it exists; before that (preview, or
        # an offline render) the flow log is recognised as the VPC's sibling in its component.
        covered = any(
            f.props.get("vpcId") == vpc_id
            if vpc_id
            else (
                f.parent is not None and vpc.parent is not None and f.parent.urn == vpc.parent.urn
            )
            for f in flow_logs
        )
        if not covered:
            report(f"VPC {vpc.name} has no flow log of ALL traffic", vpc.urn)


@RULES.resource(
    "aws-ec2-subnet-disallow-public-ip-on-launch",
    types=(SUBNET,),
    description="Subnets do not assign public IP addresses on launch.",
    severity=Severity.HIGH,
    remediation="Set mapPublicIpOnLaunch to false; only the load balancer faces the internet.",
    references=(checkov("CKV_AWS_130"),),
)
def aws_ec2_subnet_disallow_public_ip_on_launch(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    if args.props.get("mapPublicIpOnLaunch") is True:
        report("mapPublicIpOnLaunch is true", None)


@RULES.resource(
    "aws-ecs-service-disallow-public-ip",
    types=(ECS_SERVICE,),
    description="ECS services do not assign public IP addresses to their tasks.",
    severity=Severity.HIGH,
    remediation="Set networkConfiguration.assignPublicIp to false and run tasks in private"
    " subnets behind the load balancer (NAT for egress).",
    references=(checkov("CKV_AWS_333"),),
)
def aws_ecs_service_disallow_public_ip(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    network = args.props.get("networkConfiguration") or {}
    if network.get("assignPublicIp") is True:
        report("networkConfiguration.assignPublicIp is true", None)
