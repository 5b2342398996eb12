"""Every AWS role under Pulumi's mock runtime, with each stack's real config file."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.render import SECRET, StageRender
from tests.conftest import STACKS_DIR, by_type, render

TAGS = {"stage", "project", "owner", "cost-center", "managed-by"}


@pytest.fixture(scope="module")
def stages() -> dict[str, StageRender]:
    rendered = render(STACKS_DIR, "dev", "live")
    for stack, result in rendered.items():
        assert result.error is None, f"{stack}: {result.error}"
    return rendered


@pytest.fixture(scope="module")
def dev(stages: dict[str, StageRender]) -> StageRender:
    return stages["dev"]


@pytest.fixture(scope="module")
def live(stages: dict[str, StageRender]) -> StageRender:
    return stages["live"]


def one(render: StageRender, type_token: str) -> dict[str, Any]:
    found = by_type(render, type_token)
    assert len(found) == 1, f"expected one {type_token}, got {[r['urn'] for r in found]}"
    return found[0]


def test_every_resource_is_parented_and_named_from_its_component(dev: StageRender) -> None:
    urns = {r["urn"]: r for r in dev.resources}
    for resource in dev.resources:
        assert resource["name"].startswith("dev"), resource["urn"]
        if resource["type"] == "stageline:aws:Environment":
            continue
        parent = urns.get(resource["parent"])
        assert parent is not None, f"{resource['urn']} has no parent in the graph"
        assert resource["name"].startswith(parent["name"]), resource["urn"]
        assert not parent["custom"] or resource["type"].startswith("stageline:"), resource["urn"]


def test_component_tokens_and_roles(dev: StageRender) -> None:
    roles = {r["type"] for r in dev.resources if not r["custom"]}
    assert roles == {
        f"stageline:aws:{role}"
        for role in (
            "Environment",
            "Network",
            "Keys",
            "Logs",
            "Registry",
            "Database",
            "Storage",
            "Services",
        )
    }


def test_no_hard_coded_physical_names(dev: StageRender) -> None:
    for token, field in [
        ("aws:s3/bucket:Bucket", "bucket"),
        ("aws:ecr/repository:Repository", "name"),
        ("aws:rds/instance:Instance", "identifier"),
        ("aws:lb/loadBalancer:LoadBalancer", "name"),
    ]:
        for resource in by_type(dev, token):
            assert field not in resource["inputs"], f"{resource['urn']} sets {field}"


def test_tags_on_everything_taggable(dev: StageRender, live: StageRender) -> None:
    for stage in (dev, live):
        tagged = [r for r in stage.resources if "tags" in r["inputs"]]
        assert len(tagged) > 40
        for resource in tagged:
            assert set(resource["inputs"]["tags"]) >= TAGS, resource["urn"]
            assert resource["inputs"]["tags"]["stage"] == stage.stack, resource["urn"]


def test_network(dev: StageRender, live: StageRender) -> None:
    vpc = one(dev, "aws:ec2/vpc:Vpc")
    assert vpc["inputs"]["cidrBlock"] == "10.10.0.0/16"
    subnets = by_type(dev, "aws:ec2/subnet:Subnet")
    assert len({s["inputs"]["availabilityZone"] for s in subnets}) >= 2
    assert {s["inputs"]["tags"]["tier"] for s in subnets} == {"public", "private"}
    for subnet in subnets:
        assert subnet["inputs"]["mapPublicIpOnLaunch"] is False, subnet["urn"]
    default_sg = one(dev, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert default_sg["inputs"]["ingress"] == [] and default_sg["inputs"]["egress"] == []
    flow = one(dev, "aws:ec2/flowLog:FlowLog")
    assert flow["inputs"]["trafficType"] == "ALL"
    assert len(by_type(dev, "aws:ec2/natGateway:NatGateway")) == 1
    assert len(by_type(live, "aws:ec2/natGateway:NatGateway")) == 2  # natGateways: perAz


def test_only_the_load_balancer_is_open_to_the_internet(dev: StageRender) -> None:
    for rule in by_type(dev, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
        if rule["inputs"].get("cidrIpv4") == "0.0.0.0/0":
            assert rule["inputs"]["fromPort"] in (80, 443), rule["urn"]
            assert "-lb-in-" in rule["name"], rule["urn"]


def test_registry(dev: StageRender) -> None:
    repos = by_type(dev, "aws:ecr/repository:Repository")
    assert len(repos) == 2
    for repo in repos:
        assert repo["inputs"]["imageTagMutability"] == "IMMUTABLE", repo["urn"]
        assert repo["inputs"]["imageScanningConfiguration"]["scanOnPush"] is True, repo["urn"]
        assert repo["inputs"]["encryptionConfigurations"][0]["encryptionType"] == "KMS"


def test_services_private_behind_https(dev: StageRender) -> None:
    for service in by_type(dev, "aws:ecs/service:Service"):
        network = service["inputs"]["networkConfiguration"]
        assert network["assignPublicIp"] is False, service["urn"]
        assert service["inputs"]["launchType"] == "FARGATE"
    listeners = {r["inputs"]["port"]: r for r in by_type(dev, "aws:lb/listener:Listener")}
    assert listeners[443]["inputs"]["protocol"] == "HTTPS"
    assert listeners[443]["inputs"]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert set(listeners) == {443}, "HTTPS only: no plain-HTTP listener (CKV_AWS_260)"
    alb = one(dev, "aws:lb/loadBalancer:LoadBalancer")
    assert alb["inputs"]["accessLogs"]["enabled"] is True
    assert alb["inputs"]["dropInvalidHeaderFields"] is True


def test_tasks_run_digest_pinned_images_from_the_stage_registry(dev: StageRender) -> None:
    repos = {r["name"].rsplit("-", 1)[-1]: r for r in by_type(dev, "aws:ecr/repository:Repository")}
    for task in by_type(dev, "aws:ecs/taskDefinition:TaskDefinition"):
        (container,) = json.loads(task["inputs"]["containerDefinitions"])
        assert "@sha256:" in container["image"], task["urn"]
        registry, _ = container["image"].split("@")
        assert registry.startswith("123456789012.dkr.ecr.eu-west-1.amazonaws.com/dev-registry-")
        assert container["name"] in repos
        assert container["privileged"] is False and container["readonlyRootFilesystem"] is True
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert env["STAGELINE_RELEASE"] == "bootstrap"
        if container["name"] == "api":  # the service that uses the database (blueprint.yaml)
            assert {s["name"] for s in container["secrets"]} >= {"DATABASE_SECRET"}
        assert not any("PASSWORD" in name for name in env), task["urn"]


def test_database(dev: StageRender, live: StageRender) -> None:
    db = one(dev, "aws:rds/instance:Instance")["inputs"]
    assert db["engine"] == "postgres" and db["engineVersion"] == "16"
    assert db["storageEncrypted"] is True and db["kmsKeyId"].startswith("arn:aws:kms:")
    assert db["publiclyAccessible"] is False
    assert db["manageMasterUserPassword"] is True
    assert "password" not in db, "a plaintext master password must never be an input"
    params = one(dev, "aws:rds/parameterGroup:ParameterGroup")["inputs"]["parameters"]
    assert {(p["name"], p["value"]) for p in params} >= {("rds.force_ssl", "1")}
    assert (db["multiAz"], db["deletionProtection"], db["backupRetentionPeriod"]) == (
        False,
        False,
        1,
    )
    prod = one(live, "aws:rds/instance:Instance")
    assert prod["inputs"]["multiAz"] is True and prod["inputs"]["deletionProtection"] is True
    assert prod["inputs"]["backupRetentionPeriod"] == 30
    assert prod["inputs"]["instanceClass"] == "db.r7g.large"
    assert prod["options"]["retainOnDelete"] is True


def test_storage(dev: StageRender) -> None:
    blocks = by_type(dev, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert len(blocks) == len(by_type(dev, "aws:s3/bucket:Bucket")) == 2
    for block in blocks:
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        ):
            assert block["inputs"][flag] is True, f"{block['urn']}: {flag}"
    for versioning in by_type(dev, "aws:s3/bucketVersioning:BucketVersioning"):
        assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    algorithms = sorted(
        e["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"]
        for e in by_type(
            dev,
            "aws:s3/bucketServerSideEncryptionConfiguration:"
            "BucketServerSideEncryptionConfiguration",
        )
    )
    assert algorithms == ["AES256", "aws:kms"]  # ALB log delivery supports only SSE-S3
    for policy in by_type(dev, "aws:s3/bucketPolicy:BucketPolicy"):
        statements = json.loads(policy["inputs"]["policy"])["Statement"]
        deny = [s for s in statements if s["Effect"] == "Deny"]
        assert deny and deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_logs_and_keys(dev: StageRender, live: StageRender) -> None:
    for stage, days in ((dev, 14), (live, 365)):
        groups = by_type(stage, "aws:cloudwatch/logGroup:LogGroup")
        assert len(groups) == 3
        for group in groups:
            assert group["inputs"]["retentionInDays"] == days, group["urn"]
            assert group["inputs"]["kmsKeyId"].startswith("arn:aws:kms:"), group["urn"]
    key = one(dev, "aws:kms/key:Key")
    assert key["inputs"]["enableKeyRotation"] is True


def test_outputs(dev: StageRender) -> None:
    outputs = dev.outputs
    assert outputs["serviceUrl"] == "https://api.dev.stageline.example.com"
    assert outputs["registryUrl"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert outputs["databaseEndpoint"].endswith(".rds.amazonaws.com:5432")
    assert outputs["bucketName"].startswith("dev-storage-bucket-")
    assert outputs["release"] == "bootstrap" and set(outputs["digests"]) == {"api", "web"}


def test_app_secrets_stay_secret(stacks_copy: Any) -> None:
    from tests.conftest import edit_stack

    edit_stack(
        stacks_copy,
        "dev",
        lambda c: c.__setitem__(
            "stageline:secrets", {"apiToken": {"secure": "v1:Y2lwaGVydGV4dA=="}}
        ),
    )
    result = render(stacks_copy, "dev")["dev"]
    assert result.error is None, result.error
    version = one(result, "aws:secretsmanager/secretVersion:SecretVersion")
    assert version["inputs"]["secretString"] == SECRET
    secret = one(result, "aws:secretsmanager/secret:Secret")
    assert secret["inputs"]["kmsKeyId"].startswith("arn:aws:kms:")
    (container,) = json.loads(
        by_type(result, "aws:ecs/taskDefinition:TaskDefinition")[0]["inputs"][
            "containerDefinitions"
        ]
    )
    assert "APP_SECRET_APITOKEN" in {s["name"] for s in container["secrets"]}
    assert "Y2lwaGVydGV4dA" not in json.dumps(result.to_json())
