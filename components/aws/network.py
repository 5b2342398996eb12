"""Network role on AWS: a VPC across the shape's AZs, public and private subnets, NAT, flow logs."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext, assume_role_policy, child, policy_json
from components.roles import role_token


def _nth(index: int) -> Callable[[list[str]], str]:
    return lambda names: names[index]


class Network(pulumi.ComponentResource):
    """Public subnets hold only the load balancer and NAT; everything else is private."""

    network_id: pulumi.Output[str]
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    lb_security_group_id: pulumi.Output[str]
    tasks_security_group_id: pulumi.Output[str]
    database_security_group_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: AwsContext,
        flow_log_group_arn: pulumi.Input[str],
        parent: pulumi.Resource,
    ) -> None:
        super().__init__(role_token("aws", "Network"), name, None, child(parent))
        shape = ctx.spec.shape.network
        cidr = ipaddress.IPv4Network(ctx.spec.identity.cidr)
        subnets = list(cidr.subnets(prefixlen_diff=shape.subnet_bits))
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        ).names

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(cidr),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=ctx.tagged(f"{name}-vpc"),
            opts=child(self),
        )
        # Adopt the default security group and strip every rule from it (CIS AWS 5.4).
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=self.vpc.id,
            ingress=[],
            egress=[],
            tags=ctx.tagged(f"{name}-default-sg"),
            opts=child(self),
        )
        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=ctx.tagged(f"{name}-igw"), opts=child(self)
        )
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            tags=ctx.tagged(f"{name}-public-rt"),
            opts=child(self),
        )
        aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child(self),
        )

        self.public_subnet_ids, self.private_subnet_ids = [], []
        nat_count = shape.az_count if ctx.spec.scale.nat_gateways == "perAz" else 1
        nat_ids: list[pulumi.Output[str]] = []
        for index in range(shape.az_count):
            zone = zones.apply(_nth(index))
            public = aws.ec2.Subnet(
                f"{name}-public-{index}",
                vpc_id=self.vpc.id,
                cidr_block=str(subnets[index]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=ctx.tagged(f"{name}-public-{index}") | {"tier": "public"},
                opts=child(self),
            )
            private = aws.ec2.Subnet(
                f"{name}-private-{index}",
                vpc_id=self.vpc.id,
                cidr_block=str(subnets[shape.az_count + index]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=ctx.tagged(f"{name}-private-{index}") | {"tier": "private"},
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{index}-rta",
                subnet_id=public.id,
                route_table_id=public_rt.id,
                opts=child(self),
            )
            if index < nat_count:
                eip = aws.ec2.Eip(
                    f"{name}-nat-{index}-eip",
                    domain="vpc",
                    tags=ctx.tagged(f"{name}-nat-{index}"),
                    opts=child(self),
                )
                nat = aws.ec2.NatGateway(
                    f"{name}-nat-{index}",
                    allocation_id=eip.id,
                    subnet_id=public.id,
                    tags=ctx.tagged(f"{name}-nat-{index}"),
                    opts=child(self, depends_on=[igw]),
                )
                nat_ids.append(nat.id)
            private_rt = aws.ec2.RouteTable(
                f"{name}-private-{index}-rt",
                vpc_id=self.vpc.id,
                tags=ctx.tagged(f"{name}-private-{index}-rt"),
                opts=child(self),
            )
            aws.ec2.Route(
                f"{name}-private-{index}-default",
                route_table_id=private_rt.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_ids[index % nat_count],
                opts=child(self),
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-{index}-rta",
                subnet_id=private.id,
                route_table_id=private_rt.id,
                opts=child(self),
            )
            self.public_subnet_ids.append(public.id)
            self.private_subnet_ids.append(private.id)

        if ctx.spec.shape.logging.flow_logs:
            self._flow_logs(name, ctx, flow_log_group_arn)
        self._security_groups(name, ctx)
        self.network_id = self.vpc.id
        self.register_outputs(
            {
                "networkId": self.network_id,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetIds": self.private_subnet_ids,
            }
        )

    def _flow_logs(self, name: str, ctx: AwsContext, group_arn: pulumi.Input[str]) -> None:
        """All traffic of the VPC to CloudWatch Logs (CIS AWS 3.7)."""
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com"),
            tags=ctx.tagged(f"{name}-flow-logs-role"),
            opts=child(self),
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=pulumi.Output.from_input(group_arn).apply(
                lambda arn: policy_json(
                    [
                        {
                            "Effect": "Allow",
                            "Action": [
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogGroups",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [arn, f"{arn}:*"],
                        }
                    ]
                )
            ),
            opts=child(self),
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group_arn,
            iam_role_arn=role.arn,
            tags=ctx.tagged(f"{name}-flow-log"),
            opts=child(self),
        )

    def _security_groups(self, name: str, ctx: AwsContext) -> None:
        """Internet -> load balancer (443, 80) -> tasks (service ports) -> database (its port)."""

        def group(role: str, purpose: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(
                f"{name}-{role}-sg",
                vpc_id=self.vpc.id,
                description=purpose,
                tags=ctx.tagged(f"{name}-{role}-sg"),
                opts=child(self),
            )

        def allow(
            rule: str,
            group: aws.ec2.SecurityGroup,
            port: int,
            description: str,
            *,
            egress: bool = False,
            peer: aws.ec2.SecurityGroup | None = None,
        ) -> None:
            """One TCP port to or from a peer group, or the internet when there is no peer."""
            kind = aws.vpc.SecurityGroupEgressRule if egress else aws.vpc.SecurityGroupIngressRule
            kind(
                f"{name}-{rule}",
                security_group_id=group.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=None if peer else "0.0.0.0/0",
                referenced_security_group_id=peer.id if peer else None,
                description=description,
                tags=ctx.tagged(f"{name}-{rule}"),
                opts=child(self),
            )

        lb = group("lb", "Load balancer: HTTPS from the internet")
        tasks = group("tasks", "Service tasks: only from the load balancer")
        database = group("db", "Database: only from the service tasks")
        # HTTPS only, as on Azure and Docker: no plain-HTTP port to redirect from (CKV_AWS_260).
        allow("lb-in-443", lb, 443, "Internet to the load balancer on 443")
        for port in sorted({s.port for s in ctx.spec.shape.services.values()}):
            allow(f"tasks-in-{port}", tasks, port, "Load balancer to the services", peer=lb)
            allow(
                f"lb-out-{port}", lb, port, "Load balancer to the services", egress=True, peer=tasks
            )
        db_port = ctx.spec.shape.database.port
        allow("db-in", database, db_port, "Services to the database", peer=tasks)
        # Tasks reach ECR, Secrets Manager and CloudWatch over HTTPS through the NAT gateway.
        allow("tasks-out-https", tasks, 443, "Services to AWS APIs over HTTPS", egress=True)
        allow(
            "tasks-out-db", tasks, db_port, "Services to the database", egress=True, peer=database
        )
        self.lb_security_group_id = lb.id
        self.tasks_security_group_id = tasks.id
        self.database_security_group_id = database.id
