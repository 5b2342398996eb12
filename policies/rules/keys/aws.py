"""AWS key rules: customer-managed keys rotate."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..rule import RuleSet, checkov, cis_aws

RULES = RuleSet("keys", substrate="aws")

KEY = "aws:kms/key:Key"


@RULES.resource(
    "aws-kms-key-rotation-enabled",
    types=(KEY,),
    description="Symmetric customer-managed KMS keys rotate their key material automatically.",
    severity=Severity.MEDIUM,
    remediation="Set enableKeyRotation to true (yearly by default).",
    references=(cis_aws("3.6"), checkov("CKV_AWS_7")),
)
def aws_kms_key_rotation_enabled(args: ResourceValidationArgs, report: ReportViolation) -> None:
    spec = args.props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT")
    if spec != "SYMMETRIC_DEFAULT":
        args.not_applicable(f"{spec} keys cannot rotate automatically")
    if args.props.get("enableKeyRotation") is not True:
        report("enableKeyRotation is not true", None)
