"""AWS tag rules: everything taggable says which stage, project, owner and budget it is for."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import report_missing_tags
from ..rule import RuleSet, config_schema

RULES = RuleSet("tags", substrate="aws")

# Types that accept `tags` in pulumi-aws (tests/policies checks this list against the SDK).
TAGGABLE = frozenset(
    {
        "aws:acm/certificate:Certificate",
        "aws:appautoscaling/target:Target",
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/eip:Eip",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/natGateway:NatGateway",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpc:Vpc",
        "aws:ecr/repository:Repository",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/service:Service",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:iam/role:Role",
        "aws:kms/key:Key",
        "aws:lb/listener:Listener",
        "aws:lb/listenerRule:ListenerRule",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:lb/targetGroup:TargetGroup",
        "aws:rds/instance:Instance",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:s3/bucket:Bucket",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    }
)


@RULES.resource(
    "aws-all-taggable-required-tags",
    types=TAGGABLE,
    description="Every taggable resource carries the stage, project, owner, cost-center and"
    " managed-by tags, and its stage tag names the stage being checked.",
    severity=Severity.LOW,
    remediation="Create the resource with tags=ctx.tagged(name) (components/aws/context.py),"
    " which applies the stage's identity tags.",
    config=config_schema(
        {
            "requiredKeys": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "stage": {"type": "string"},
        }
    ),
)
def aws_all_taggable_required_tags(args: ResourceValidationArgs, report: ReportViolation) -> None:
    report_missing_tags(args, report)
