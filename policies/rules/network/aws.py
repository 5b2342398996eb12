"""AWS network rules: no admin or database ports open to the internet, a closed default
security group, flow logs on every VPC, no public IPs for subnets and services."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity, StackValidationArgs

from ..graph import as_list, of_type
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
ANYWHERE = ("0.0.0.0/0", "::/0")


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
    description="No ingress from 0.0.0.0/0 or ::/0 to SSH, RDP or the database port.",
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
        for cidr in (c for c in cidrs if c in ANYWHERE):
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


@RULES.stack(
    "aws-ec2-vpc-flow-logs-enabled",
    description="Every VPC has a flow log.",
    severity=Severity.MEDIUM,
    remediation="Add an aws.ec2.FlowLog for the VPC (trafficType ALL) delivering to a"
    " CloudWatch log group or S3 bucket.",
    references=(cis_aws("3.7"), checkov("CKV2_AWS_11")),
)
def aws_ec2_vpc_flow_logs_enabled(args: StackValidationArgs, report: ReportViolation) -> None:
    flow_logs = [f for f in of_type(args.resources, FLOW_LOG) if f.props.get("vpcId")]
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
            report(f"VPC {vpc.name} has no flow log", vpc.urn)


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
