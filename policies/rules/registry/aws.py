"""AWS container registry rules: immutable tags, scan on push, never public."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list, statements
from ..rule import RuleSet, checkov

RULES = RuleSet("registry", substrate="aws")

REPOSITORY = "aws:ecr/repository:Repository"
REPOSITORY_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"


def _everyone(principal: Any) -> bool:
    """``"*"`` or ``{"AWS": "*"}`` (or a list holding ``"*"``): anyone at all."""
    if principal == "*":
        return True
    if isinstance(principal, Mapping):
        return any("*" in as_list(v) for v in principal.values())
    return False


@RULES.resource(
    "aws-ecr-repository-immutable-tags",
    types=(REPOSITORY,),
    description="Repositories refuse to overwrite an existing image tag.",
    severity=Severity.HIGH,
    remediation="Set imageTagMutability to IMMUTABLE; releases are pinned by digest anyway.",
    references=(checkov("CKV_AWS_51"),),
)
def aws_ecr_repository_immutable_tags(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    mutability = args.props.get("imageTagMutability", "MUTABLE")
    if mutability != "IMMUTABLE":
        report(f"imageTagMutability is {mutability}", None)


@RULES.resource(
    "aws-ecr-repository-scan-on-push",
    types=(REPOSITORY,),
    description="Repositories scan every pushed image for vulnerabilities.",
    severity=Severity.MEDIUM,
    remediation="Set imageScanningConfiguration.scanOnPush to true.",
    references=(checkov("CKV_AWS_163"),),
)
def aws_ecr_repository_scan_on_push(args: ResourceValidationArgs, report: ReportViolation) -> None:
    scanning = args.props.get("imageScanningConfiguration") or {}
    if scanning.get("scanOnPush") is not True:
        report("imageScanningConfiguration.scanOnPush is not true", None)


@RULES.resource(
    "aws-ecr-repositorypolicy-disallow-public-access",
    types=(REPOSITORY_POLICY,),
    description="Repository policies grant nothing to everyone (Principal '*').",
    severity=Severity.CRITICAL,
    remediation="Name the accounts or roles that may pull (Principal {AWS: <arn>}); never '*'.",
    references=(checkov("CKV_AWS_32"),),
)
def aws_ecr_repositorypolicy_disallow_public_access(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for statement in statements(args.props.get("policy")):
        if statement.get("Effect") == "Allow" and _everyone(statement.get("Principal")):
            sid = statement.get("Sid", "<no Sid>")
            report(f"statement {sid} allows {statement.get('Action')} to '*'", None)


@RULES.resource(
    "aws-ecr-repository-kms-encryption",
    types=(REPOSITORY,),
    description="Repositories are encrypted with the stage's KMS key, not the AES256 default.",
    severity=Severity.MEDIUM,
    remediation="Set encryptionConfigurations to encryptionType KMS with the stage's key.",
    references=(checkov("CKV_AWS_136"),),
)
def aws_ecr_repository_kms_encryption(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    configs = as_list(args.props.get("encryptionConfigurations"))
    if not any(c.get("encryptionType") == "KMS" and c.get("kmsKey") for c in configs):
        report("the repository is not encrypted with a KMS key", None)
