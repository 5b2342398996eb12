"""AWS answers for the offline renderer: ARNs, endpoints, URLs and invoke results."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.mocks import Facts


def _arn(service: str, resource: str, f: Facts, region: bool = True) -> str:
    return f"arn:aws:{service}:{f.region if region else ''}:{f.account_id}:{resource}"


def _zones(args: dict[str, Any], f: Facts) -> dict[str, Any]:
    letters = "abc"
    return {
        "id": f.region,
        "names": [f"{f.region}{x}" for x in letters],
        "zoneIds": [f"euw1-az{i}" for i in range(1, 4)],
        "state": "available",
    }


CALLS = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _zones,
    "aws:index/getCallerIdentity:getCallerIdentity": lambda a, f: {
        "accountId": f.account_id,
        "arn": f"arn:aws:iam::{f.account_id}:user/ci",
        "id": f.account_id,
        "userId": "AIDAEXAMPLE",
    },
    "aws:index/getPartition:getPartition": lambda a, f: {
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "id": "aws",
        "reverseDnsPrefix": "com.amazonaws",
    },
    "aws:index/getRegion:getRegion": lambda a, f: {
        "region": f.region,
        "name": f.region,
        "id": f.region,
        "endpoint": f"ec2.{f.region}.amazonaws.com",
        "description": f.region,
    },
}


def _bucket(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    name = f.physical.lower()
    return {
        "bucket": name,
        "arn": f"arn:aws:s3:::{name}",
        "bucketRegionalDomainName": f"{name}.s3.{f.region}.amazonaws.com",
    }


def _repository(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    name = f.physical.lower()
    return {
        "name": name,
        "arn": _arn("ecr", f"repository/{name}", f),
        "registryId": f.account_id,
        "repositoryUrl": f"{f.account_id}.dkr.ecr.{f.region}.amazonaws.com/{name}",
    }


def _rds(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    host = f"{f.physical}.c9akciq32.{f.region}.rds.amazonaws.com"
    secret = _arn("secretsmanager", f"secret:rds!db-{f.suffix}", f)
    return {
        "arn": _arn("rds", f"db:{f.physical}", f),
        "address": host,
        "endpoint": f"{host}:{int(i.get('port', 5432))}",
        "identifier": f.physical,
        "masterUserSecrets": [
            {
                "secretArn": secret,
                "secretStatus": "active",
                "kmsKeyId": i.get("masterUserSecretKmsKeyId", ""),
            }
        ],
    }


def _kms(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    key_id = f"{f.suffix}-0000-4000-8000-{f.suffix}0000"
    return {"id": key_id, "keyId": key_id, "arn": _arn("kms", f"key/{key_id}", f)}


def _lb(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    return {
        "arn": _arn("elasticloadbalancing", f"loadbalancer/app/{f.physical}/{f.suffix}", f),
        "dnsName": f"{f.physical}.{f.region}.elb.amazonaws.com",
        "zoneId": "Z32O12XQLNTSW2",
    }


def _certificate(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    # ACM asks for one CNAME per name, the same for a domain and its wildcard.
    domain = str(i.get("domainName", "example.com"))
    record = {
        "resourceRecordName": f"_{f.suffix}.{domain}.",
        "resourceRecordType": "CNAME",
        "resourceRecordValue": f"_{f.suffix}0.acm-validations.aws.",
    }
    names = [domain, *i.get("subjectAlternativeNames", [])]
    return {
        "arn": _arn("acm", f"certificate/{f.suffix}", f),
        "status": "PENDING_VALIDATION",
        "domainValidationOptions": [{"domainName": n, **record} for n in names],
    }


def _arn_only(service: str, kind: str) -> Any:
    return lambda i, f: {"arn": _arn(service, f"{kind}{f.physical}", f)}


def _iam_role(i: dict[str, Any], f: Facts) -> dict[str, Any]:
    return {"arn": f"arn:aws:iam::{f.account_id}:role/{f.physical}", "name": f.physical}


RESOURCES = {
    "aws:s3/bucket:Bucket": _bucket,
    "aws:ecr/repository:Repository": _repository,
    "aws:rds/instance:Instance": _rds,
    "aws:kms/key:Key": _kms,
    "aws:lb/loadBalancer:LoadBalancer": _lb,
    "aws:iam/role:Role": _iam_role,
    "aws:ec2/vpc:Vpc": lambda i, f: {
        "id": f"vpc-{f.suffix}",
        "arn": _arn("ec2", f"vpc/vpc-{f.suffix}", f),
        "defaultSecurityGroupId": f"sg-d{f.suffix}",
    },
    "aws:ec2/subnet:Subnet": lambda i, f: {"id": f"subnet-{f.suffix}"},
    "aws:ec2/securityGroup:SecurityGroup": lambda i, f: {"id": f"sg-{f.suffix}"},
    "aws:ec2/internetGateway:InternetGateway": lambda i, f: {"id": f"igw-{f.suffix}"},
    "aws:ec2/natGateway:NatGateway": lambda i, f: {"id": f"nat-{f.suffix}"},
    "aws:ec2/eip:Eip": lambda i, f: {"id": f"eipalloc-{f.suffix}", "publicIp": "203.0.113.10"},
    "aws:ec2/routeTable:RouteTable": lambda i, f: {"id": f"rtb-{f.suffix}"},
    "aws:cloudwatch/logGroup:LogGroup": lambda i, f: {
        "name": f.physical,
        "arn": _arn("logs", f"log-group:{f.physical}", f),
    },
    "aws:ecs/cluster:Cluster": lambda i, f: {
        "name": f.physical,
        "arn": _arn("ecs", f"cluster/{f.physical}", f),
    },
    "aws:ecs/service:Service": lambda i, f: {"name": f.physical},
    "aws:ecs/taskDefinition:TaskDefinition": lambda i, f: {
        "arn": _arn("ecs", f"task-definition/{i.get('family', f.physical)}:1", f),
        "revision": 1,
    },
    "aws:lb/targetGroup:TargetGroup": lambda i, f: {
        "arn": _arn("elasticloadbalancing", f"targetgroup/{f.physical}/{f.suffix}", f)
    },
    "aws:lb/listener:Listener": lambda i, f: {
        "arn": _arn("elasticloadbalancing", f"listener/app/{f.physical}/{f.suffix}", f)
    },
    "aws:acm/certificate:Certificate": _certificate,
    "aws:acm/certificateValidation:CertificateValidation": lambda i, f: {
        "id": str(i.get("certificateArn", "")) or f.physical,
    },
    "aws:route53/record:Record": lambda i, f: {
        "fqdn": str(i.get("name", "")).rstrip("."),
        "id": f"{i.get('zoneId', 'Z0')}_{str(i.get('name', '')).rstrip('.')}_{i.get('type', '')}",
    },
    "aws:secretsmanager/secret:Secret": lambda i, f: {
        "arn": _arn("secretsmanager", f"secret:{f.physical}", f)
    },
    "aws:rds/subnetGroup:SubnetGroup": lambda i, f: {"name": f.physical},
    "aws:rds/parameterGroup:ParameterGroup": lambda i, f: {"name": f.physical},
    # Types whose computed outputs the blueprint never reads: the provider echoes the inputs
    # and adds an id (or an ARN, where pulumi-aws 7's schema computes one).
    "aws:appautoscaling/policy:Policy": lambda i, f: {
        "arn": _arn("autoscaling", f"scalingPolicy:{f.suffix}", f)
    },
    "aws:appautoscaling/target:Target": lambda i, f: {},
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": lambda i, f: {"id": f"sg-{f.suffix}"},
    "aws:ec2/flowLog:FlowLog": lambda i, f: {"id": f"fl-{f.suffix}"},
    "aws:ec2/route:Route": lambda i, f: {},
    "aws:ec2/routeTableAssociation:RouteTableAssociation": lambda i, f: {
        "id": f"rtbassoc-{f.suffix}"
    },
    "aws:ecr/lifecyclePolicy:LifecyclePolicy": lambda i, f: {},
    "aws:iam/rolePolicy:RolePolicy": lambda i, f: {},
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": lambda i, f: {},
    "aws:kms/alias:Alias": lambda i, f: {"arn": _arn("kms", f"alias/{f.physical}", f)},
    "aws:lb/listenerRule:ListenerRule": lambda i, f: {
        "arn": _arn("elasticloadbalancing", f"listener-rule/app/{f.physical}", f)
    },
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": lambda i, f: {},
    "aws:s3/bucketLogging:BucketLogging": lambda i, f: {},
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": lambda i, f: {},
    "aws:s3/bucketPolicy:BucketPolicy": lambda i, f: {},
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": lambda i, f: {},
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (
        lambda i, f: {}
    ),
    "aws:s3/bucketVersioning:BucketVersioning": lambda i, f: {},
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": lambda i, f: {
        "securityGroupRuleId": f"sgr-{f.suffix}"
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": lambda i, f: {
        "securityGroupRuleId": f"sgr-{f.suffix}"
    },
}
