"""AWS key rules: customer-managed keys rotate, and no key policy names every principal."""

from __future__ import annotations

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import statements
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


def wildcard_principal(principal: object) -> bool:
    """``"*"`` or ``{"AWS": "*"}`` (or a list holding ``*``): every AWS principal."""
    if principal == "*":
        return True
    if isinstance(principal, dict):
        return any(v == "*" or (isinstance(v, list) and "*" in v) for v in principal.values())
    return False


@RULES.resource(
    "aws-kms-key-policy-no-wildcard-principal",
    types=(KEY,),
    description="No statement of a key policy allows every principal.",
    severity=Severity.CRITICAL,
    remediation="Name the account root, a role or a service as the principal of every"
    " statement of the key policy.",
    references=(checkov("CKV_AWS_33"),),
)
def aws_kms_key_policy_no_wildcard_principal(
    args: ResourceValidationArgs, report: ReportViolation
) -> None:
    for statement in statements(args.props.get("policy")):
        if statement.get("Effect") == "Allow" and wildcard_principal(statement.get("Principal")):
            report(f"statement {statement.get('Sid', '?')} allows every principal", None)
