"""Every rule, over gRPC: the shipped stage is the compliant baseline, and each case changes one
property (or adds/drops one resource) and expects exactly that rule to fire."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.policy import PolicyHarness
from tests.policies.conftest import Shipped
from tests.policies.mutate import (
    Case,
    Change,
    assert_only,
    drop_input,
    resource,
    seen,
    set_input,
    set_option,
)

RDS = "aws:rds/instance:Instance"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
LISTENER = "aws:lb/listener:Listener"
ALB = "aws:lb/loadBalancer:LoadBalancer"
REPO = "aws:ecr/repository:Repository"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def set_container(suffix: str, key: str, value: Any) -> Change:
    """Change the first container of a task definition (a JSON string on the wire)."""

    def change(resources: list[dict[str, Any]]) -> None:
        inputs = resource(resources, TASK, suffix)["inputs"]
        containers = json.loads(inputs["containerDefinitions"])
        containers[0][key] = value(containers[0][key]) if callable(value) else value
        inputs["containerDefinitions"] = json.dumps(containers)

    return change


def drop(type_token: str, suffix: str) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        resources.remove(resource(resources, type_token, suffix))

    return change


def repository_policy(principal: Any) -> Change:
    """Add an ECR repository policy (the blueprint has none) granting pull to ``principal``."""

    def change(resources: list[dict[str, Any]]) -> None:
        repo = resource(resources, REPO, "registry-api")
        statement = {"Sid": "Pull", "Effect": "Allow", "Principal": principal}
        statement["Action"] = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        resources.append(
            {
                **repo,
                "urn": repo["urn"].replace(
                    "aws:ecr/repository:Repository", "aws:ecr/repositoryPolicy:RepositoryPolicy"
                )
                + "-policy",
                "type": "aws:ecr/repositoryPolicy:RepositoryPolicy",
                "name": repo["name"] + "-policy",
                "inputs": {
                    "repository": repo["name"] + "-cf3a75f1",
                    "policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
                },
            }
        )

    return change


def without_tag(type_token: str, suffix: str, tag: str) -> Change:
    def change(resources: list[dict[str, Any]]) -> None:
        del resource(resources, type_token, suffix)["inputs"]["tags"][tag]

    return change


CASES = [
    Case("ssh-from-anywhere", "aws-ec2-securitygroup-disallow-public-admin-ingress",
         lambda rs: (set_input(INGRESS, "lb-in-443", "fromPort", 22)(rs),
                     set_input(INGRESS, "lb-in-443", "toPort", 22)(rs)),
         "ingress from 0.0.0.0/0 reaches port 22", "live-network-lb-in-443"),
    Case("db-port-from-ipv6-anywhere", "aws-ec2-securitygroup-disallow-public-admin-ingress",
         lambda rs: (set_input(INGRESS, "lb-in-443", "cidrIpv6", "::/0")(rs),
                     set_input(INGRESS, "lb-in-443", "fromPort", 5432)(rs),
                     set_input(INGRESS, "lb-in-443", "toPort", 5432)(rs)),
         "ingress from ::/0 reaches port 5432", "live-network-lb-in-443"),
    Case("ssh-from-half-the-internet", "aws-ec2-securitygroup-disallow-public-admin-ingress",
         lambda rs: (set_input(INGRESS, "lb-in-443", "cidrIpv4", "0.0.0.0/1")(rs),
                     set_input(INGRESS, "lb-in-443", "fromPort", 22)(rs),
                     set_input(INGRESS, "lb-in-443", "toPort", 22)(rs)),
         "ingress from 0.0.0.0/1 reaches port 22", "live-network-lb-in-443"),
    Case("database-from-vpc", "aws-ec2-securitygroup-tier-isolation",
         lambda rs: (set_input(INGRESS, "db-in", "cidrIpv4", "10.40.0.0/16")(rs),
                     drop_input(INGRESS, "db-in", "referencedSecurityGroupId")(rs)),
         "admits 10.40.0.0/16: a tier admits only the group in front of it",
         "live-network-db-in"),
    Case("default-sg-unmanaged", "aws-ec2-vpc-default-security-group-managed",
         drop("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg"),
         "default security group is not managed", "live-network-vpc"),
    Case("repo-aes256", "aws-ecr-repository-kms-encryption",
         set_input(REPO, "registry-web", "encryptionConfigurations",
                   [{"encryptionType": "AES256"}]),
         "not encrypted with a KMS key", "live-registry-web"),
    Case("task-root", "aws-ecs-taskdefinition-non-root-user",
         set_container("services-api-task", "user", "0"), "container api runs as 0",
         "live-services-api-task"),
    Case("task-syslog", "aws-ecs-taskdefinition-logging",
         set_container("services-web-task", "logConfiguration", {"logDriver": "syslog"}),
         "container web logs with syslog, not awslogs", "live-services-web-task"),
    Case("admin-attached", "aws-iam-policy-least-privilege",
         set_input("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                   "services-execution-managed", "policyArn",
                   "arn:aws:iam::aws:policy/AdministratorAccess"),
         "attaches AdministratorAccess", "live-services-execution-managed"),
    Case("log-connections-off", "aws-rds-parametergroup-log-connections",
         set_input("aws:rds/parameterGroup:ParameterGroup", "database-params", "parameters",
                   [{"name": "rds.force_ssl", "value": "1"}]),
         "log_connections is not set, expected 1", "live-database-params"),
    Case("db-password-in-stack", "aws-rds-instance-managed-credentials",
         set_input(RDS, "database-postgres", "password", "hunter2hunter2"),
         "a master password is set in the stack", "live-database-postgres"),
    Case("db-no-monitoring", "aws-rds-instance-logging-and-monitoring",
         set_input(RDS, "database-postgres", "monitoringInterval", 0),
         "monitoringInterval is 0", "live-database-postgres"),
    Case("bucket-unlogged", "aws-s3-bucket-access-logging",
         drop("aws:s3/bucketLogging:BucketLogging", "storage-bucket-logging"),
         "has no access logging", "live-storage-bucket"),
    Case("bucket-acls", "aws-s3-bucket-acls-disabled",
         set_input("aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                   "storage-bucket-ownership", "rule.objectOwnership", "ObjectWriter"),
         "has ACLs enabled", "live-storage-bucket"),
    Case("key-for-anyone", "aws-kms-key-policy-no-wildcard-principal",
         lambda rs: resource(rs, "aws:kms/key:Key", "keys-data")["inputs"].update(
             policy=json.dumps({"Statement": [
                 {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:*",
                  "Resource": "*"}]})),
         "statement Open allows every principal", "live-keys-data"),
    Case("log-group-plain", "aws-cloudwatch-loggroup-encrypted",
         drop_input("aws:cloudwatch/logGroup:LogGroup", "logs-web", "kmsKeyId"),
         "not encrypted with a KMS key", "live-logs-web"),
    Case("inline-all-protocols", "aws-ec2-securitygroup-disallow-public-admin-ingress",
         set_input("aws:ec2/securityGroup:SecurityGroup", "db-sg", "ingress",
                   [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]),
         "ingress from 0.0.0.0/0 reaches port 3389", "live-network-db-sg"),
    Case("default-sg-open", "aws-ec2-defaultsecuritygroup-no-rules",
         set_input("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default-sg", "egress",
                   [{"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]),
         "the default security group has 1 egress rule(s)", "live-network-default-sg"),
    Case("no-flow-log", "aws-ec2-vpc-flow-logs-enabled",
         drop("aws:ec2/flowLog:FlowLog", "flow-log"),
         "VPC live-network-vpc has no flow log", "live-network-vpc"),
    Case("subnet-public-ip", "aws-ec2-subnet-disallow-public-ip-on-launch",
         set_input("aws:ec2/subnet:Subnet", "public-0", "mapPublicIpOnLaunch", True),
         "mapPublicIpOnLaunch is true", "live-network-public-0"),
    Case("service-public-ip", "aws-ecs-service-disallow-public-ip",
         set_input("aws:ecs/service:Service", "api-service",
                   "networkConfiguration.assignPublicIp", True),
         "assignPublicIp is true", "live-services-api-service"),
    Case("plain-http-listener", "aws-lb-listener-https-or-redirect",
         lambda rs: (set_input(LISTENER, "services-https", "protocol", "HTTP")(rs),
                     drop_input(LISTENER, "services-https", "sslPolicy")(rs)),
         "port 443 serves HTTP without redirecting to HTTPS", "live-services-https"),
    Case("tls-1.0-policy", "aws-lb-listener-tls12-policy",
         set_input(LISTENER, "services-https", "sslPolicy", "ELBSecurityPolicy-TLS13-1-0-2021-06"),
         "allows protocols older than TLS 1.2", "live-services-https"),
    Case("default-tls-policy", "aws-lb-listener-tls12-policy",
         set_input(LISTENER, "services-https", "sslPolicy", None),
         "sslPolicy ELBSecurityPolicy-2016-08", "live-services-https"),
    Case("no-access-logs", "aws-lb-loadbalancer-access-logs",
         set_input(ALB, "alb", "accessLogs.enabled", False),
         "accessLogs are not enabled", "live-services-alb"),
    Case("invalid-headers-live", "aws-lb-loadbalancer-drop-invalid-headers",
         set_input(ALB, "alb", "dropInvalidHeaderFields", False),
         "dropInvalidHeaderFields is not true", "live-services-alb"),
    Case("invalid-headers-dev", "aws-lb-loadbalancer-drop-invalid-headers",
         set_input(ALB, "alb", "dropInvalidHeaderFields", False),
         "dropInvalidHeaderFields is not true", "dev-services-alb", "dev", "advisory"),
    Case("alb-deletable-live", "aws-lb-loadbalancer-deletion-protection",
         set_input(ALB, "alb", "enableDeletionProtection", False),
         "enableDeletionProtection is not true", "live-services-alb"),
    Case("mutable-tags", "aws-ecr-repository-immutable-tags",
         set_input(REPO, "registry-api", "imageTagMutability", "MUTABLE"),
         "imageTagMutability is MUTABLE", "live-registry-api"),
    Case("no-scan", "aws-ecr-repository-scan-on-push",
         set_input(REPO, "registry-web", "imageScanningConfiguration.scanOnPush", False),
         "scanOnPush is not true", "live-registry-web"),
    Case("public-repository", "aws-ecr-repositorypolicy-disallow-public-access",
         repository_policy({"AWS": "*"}),
         "statement Pull allows", "live-registry-api-policy"),
    Case("image-by-tag", "aws-ecs-taskdefinition-image-pinned-by-digest",
         set_container("api-task", "image", lambda i: i.split("@")[0] + ":latest"),
         "is not an ECR image pinned by digest", "live-services-api-task"),
    Case("image-other-region", "aws-ecs-taskdefinition-image-pinned-by-digest",
         set_container("web-task", "image", lambda i: i.replace("eu-west-1", "us-east-1")),
         "container web: image comes from us-east-1, not eu-west-1", "live-services-web-task"),
    Case("image-other-stage", "aws-ecs-taskdefinition-image-from-stage-registry",
         set_container("api-task", "image", lambda i: i.replace("live-registry", "dev-registry")),
         "is not in a repository of this stack", "live-services-api-task"),
    Case("plain-secret", "aws-ecs-taskdefinition-secrets-by-reference",
         set_container("api-task", "environment",
                       lambda env: [*env, {"name": "DB_PASSWORD", "value": "hunter2"}]),
         "DB_PASSWORD is a plain environment value", "live-services-api-task"),
    Case("plain-pass", "aws-ecs-taskdefinition-secrets-by-reference",
         set_container("api-task", "environment",
                       lambda env: [*env, {"name": "SMTP_PASS", "value": "hunter2"}]),
         "SMTP_PASS is a plain environment value", "live-services-api-task"),
    Case("url-credentials", "aws-ecs-taskdefinition-secrets-by-reference",
         set_container("web-task", "environment",
                       lambda env: [*env, {"name": "DATABASE_URL",
                                           "value": "postgres://app:hunter2@db:5432/app"}]),
         "DATABASE_URL embeds credentials in a URL", "live-services-web-task"),
    Case("secret-not-arn", "aws-ecs-taskdefinition-secrets-by-reference",
         set_container("web-task", "secrets", [{"name": "DATABASE_SECRET", "valueFrom": "x"}]),
         "secret DATABASE_SECRET is not an ARN reference", "live-services-web-task"),
    Case("privileged", "aws-ecs-taskdefinition-disallow-privileged",
         set_container("api-task", "privileged", True),
         "container api is privileged", "live-services-api-task"),
    Case("writable-root-live", "aws-ecs-taskdefinition-readonly-root-filesystem",
         set_container("web-task", "readonlyRootFilesystem", False),
         "container web has a writable root filesystem", "live-services-web-task"),
    Case("writable-root-dev", "aws-ecs-taskdefinition-readonly-root-filesystem",
         set_container("web-task", "readonlyRootFilesystem", False),
         "container web has a writable root filesystem", "dev-services-web-task", "dev",
         "advisory"),
    Case("no-insights", "aws-ecs-cluster-container-insights",
         set_input("aws:ecs/cluster:Cluster", "cluster", "settings.0.value", "disabled"),
         "containerInsights setting is not enabled", "live-services-cluster"),
    Case("public-db", "aws-rds-instance-disallow-public-access",
         set_input(RDS, "postgres", "publiclyAccessible", True),
         "publiclyAccessible is true", "live-database-postgres"),
    Case("unencrypted-db", "aws-rds-instance-storage-encrypted",
         set_input(RDS, "postgres", "storageEncrypted", False),
         "storageEncrypted is not true", "live-database-postgres"),
    Case("tls-optional", "aws-rds-parametergroup-force-tls",
         set_input("aws:rds/parameterGroup:ParameterGroup", "params", "parameters.0.value", "0"),
         "rds.force_ssl is 0, expected 1", "live-database-params"),
    Case("short-backups-live", "aws-rds-instance-backup-retention",
         set_input(RDS, "postgres", "backupRetentionPeriod", 7),
         "backupRetentionPeriod is 7 day(s), the stage requires 14", "live-database-postgres"),
    Case("single-az-live", "aws-rds-instance-multi-az",
         set_input(RDS, "postgres", "multiAz", False),
         "multiAz is not true", "live-database-postgres"),
    Case("unprotected-live", "aws-rds-instance-deletion-protection",
         set_option(RDS, "postgres", "protect", False),
         "the protect resource option is not set", "live-database-postgres"),
    Case("deletable-live", "aws-rds-instance-deletion-protection",
         set_input(RDS, "postgres", "deletionProtection", False),
         "deletionProtection is not true", "live-database-postgres"),
    Case("no-minor-upgrades-dev", "aws-rds-instance-auto-minor-version-upgrade",
         set_input(RDS, "postgres", "autoMinorVersionUpgrade", False),
         "autoMinorVersionUpgrade is false", "dev-database-postgres", "dev", "advisory"),
    Case("public-policy-allowed", "aws-s3-bucket-public-access-block",
         set_input("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
                   "storage-bucket-public-access", "blockPublicPolicy", False),
         "blockPublicPolicy not true", "live-storage-bucket-public-access"),
    Case("no-public-access-block", "aws-s3-bucket-public-access-block",
         drop("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
              "logs-access-public-access"),
         "bucket live-logs-access has no public access block", "live-logs-access"),
    Case("no-encryption", "aws-s3-bucket-encryption",
         drop("aws:s3/bucketServerSideEncryptionConfiguration:"
              "BucketServerSideEncryptionConfiguration", "storage-bucket-encryption"),
         "bucket live-storage-bucket has no default encryption", "live-storage-bucket"),
    Case("plain-http-allowed", "aws-s3-bucket-tls-only-policy",
         set_input("aws:s3/bucketPolicy:BucketPolicy", "storage-bucket-policy", "policy",
                   json.dumps({"Version": "2012-10-17", "Statement": []})),
         "bucket live-storage-bucket has no policy denying plain HTTP", "live-storage-bucket"),
    Case("versioning-suspended", "aws-s3-bucket-versioning",
         set_input("aws:s3/bucketVersioning:BucketVersioning", "storage-bucket-versioning",
                   "versioningConfiguration.status", "Suspended"),
         "bucket live-storage-bucket does not have versioning enabled", "live-storage-bucket"),
    Case("no-rotation", "aws-kms-key-rotation-enabled",
         set_input("aws:kms/key:Key", "keys-data", "enableKeyRotation", False),
         "enableKeyRotation is not true", "live-keys-data"),
    Case("short-logs-live", "aws-cloudwatch-loggroup-retention",
         set_input("aws:cloudwatch/logGroup:LogGroup", "logs-api", "retentionInDays", 90),
         "retentionInDays is 90, the stage requires at least 365", "live-logs-api"),
    Case("untagged-owner", "aws-all-taggable-required-tags",
         without_tag("aws:ec2/vpc:Vpc", "network-vpc", "owner"),
         "missing tag(s): owner", "live-network-vpc"),
    Case("wrong-stage-tag", "aws-all-taggable-required-tags",
         set_input("aws:kms/key:Key", "keys-data", "tags.stage", "dev"),
         "tag stage is dev, but this is the live stage", "live-keys-data"),
    Case("engine-drift", "aws-rds-instance-engine-pinned",
         set_input(RDS, "postgres", "engineVersion", "15.4"),
         "live-database-postgres runs postgres 15, pinned postgres 16", "live-database-postgres"),
    Case("missing-component", "aws-blueprint-component-exactly-once",
         drop("stageline:aws:Storage", "live-storage"),
         "stageline:aws:Storage is present 0 time(s)", "pulumi:pulumi:Stack::stageline-live"),
]  # fmt: skip


@pytest.mark.parametrize("stack", ["dev", "live"])
def test_shipped_stage_is_the_compliant_baseline(
    pack: PolicyHarness, shipped: dict[str, Shipped], stack: str
) -> None:
    result = pack.analyze(shipped[stack].graph())
    assert result.diagnostics == [], f"{stack}: {seen(result.diagnostics)}"
    assert result.passed == result.enabled


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_changing_one_property_fires_exactly_that_rule(
    pack: PolicyHarness, shipped: dict[str, Shipped], case: Case
) -> None:
    result = pack.analyze(shipped[case.stage].graph(case.change))
    assert_only(result.diagnostics, case.policy, case.urn, case.message, case.enforcement)


def test_disabled_rule_stays_silent_outside_live(
    pack: PolicyHarness, shipped: dict[str, Shipped]
) -> None:
    """Deletion protection is a live rule: dev's config disables it, so dev passes without it."""
    graph = shipped["dev"].graph(set_input(ALB, "alb", "enableDeletionProtection", False))
    result = pack.analyze(graph)
    assert result.diagnostics == [], seen(result.diagnostics)
    assert "aws-lb-loadbalancer-deletion-protection" not in result.enabled


def test_repository_policy_naming_an_account_is_compliant(
    pack: PolicyHarness, shipped: dict[str, Shipped]
) -> None:
    change = repository_policy({"AWS": "arn:aws:iam::123456789012:root"})
    result = pack.analyze(shipped["live"].graph(change))
    assert result.diagnostics == [], seen(result.diagnostics)


def test_every_aws_rule_has_a_failing_case(pack: PolicyHarness) -> None:
    """This module covers the AWS rules; other providers' rules have their own test modules."""
    names = {p.name for p in pack.policies() if p.name.startswith("aws-")}
    covered = {c.policy for c in CASES}
    assert names - covered == set(), f"rules without a failing case: {sorted(names - covered)}"
