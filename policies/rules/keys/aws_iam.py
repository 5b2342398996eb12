"""AWS identity rules: roles and their policies grant what the stage's workloads need, on the
stage's own resources: no administrator policies, no wildcards over every resource for actions
that read data or escalate, no role that any principal may assume."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ReportViolation, ResourceValidationArgs, Severity

from ..graph import as_list, statements
from ..rule import RuleSet, checkov, cis_aws
from .aws import wildcard_principal

RULES = RuleSet("keys", substrate="aws")

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
POLICY = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
# AWS managed policies that administer rather than use.
ADMIN_POLICIES = ("AdministratorAccess", "PowerUserAccess", "IAMFullAccess")
# Actions that read data or escalate, never to be granted on every resource (Checkov
# CKV_AWS_286 privilege escalation, CKV_AWS_288 data exfiltration).
SENSITIVE = (
    "iam:passrole",
    "secretsmanager:getsecretvalue",
    "kms:decrypt",
    "s3:getobject",
    "ssm:getparameter",
    "sts:assumerole",
)


def _actions(statement: Mapping[str, Any]) -> list[str]:
    return [str(a).lower() for a in as_list(statement.get("Action"))]


def _problems(document: Any) -> Iterator[str]:
    for statement in statements(document):
        if statement.get("Effect") != "Allow":
            continue
        actions = _actions(statement)
        everywhere = "*" in [str(r) for r in as_list(statement.get("Resource"))]
        if "*" in actions:
            yield "allows every action"
        elif everywhere and any(a.endswith(":*") for a in actions):
            yield f"allows {', '.join(a for a in actions if a.endswith(':*'))} on every resource"
        elif everywhere and any(a.startswith(SENSITIVE) for a in actions):
            granted = ", ".join(a for a in actions if a.startswith(SENSITIVE))
            yield f"allows {granted} on every resource"


@RULES.resource(
    "aws-iam-policy-least-privilege",
    types=(ROLE, ROLE_POLICY, POLICY, ATTACHMENT),
    description="No administrator policy, no action on every resource that reads data or"
    " escalates (secrets, keys, objects, iam:PassRole), no service wildcard on every resource,"
    " and no role that every principal may assume.",
    severity=Severity.CRITICAL,
    remediation="Grant the named actions on the stage's own ARNs (components/aws/services.py"
    " does); trust only the service that runs the role.",
    references=(
        cis_aws("1.16"),
        checkov("CKV_AWS_62"),
        checkov("CKV_AWS_286"),
        checkov("CKV_AWS_288"),
        checkov("CKV_AWS_274"),
    ),
)
def aws_iam_policy_least_privilege(args: ResourceValidationArgs, report: ReportViolation) -> None:
    props = args.props
    if args.resource_type == ATTACHMENT:
        arn = str(props.get("policyArn") or "")
        if arn.rsplit("/", 1)[-1] in ADMIN_POLICIES:
            report(f"attaches {arn.rsplit('/', 1)[-1]}", None)
        return
    if args.resource_type == ROLE:
        for statement in statements(props.get("assumeRolePolicy")):
            if statement.get("Effect") == "Allow" and wildcard_principal(
                statement.get("Principal")
            ):
                report("every principal may assume the role", None)
        for inline in as_list(props.get("inlinePolicies")):
            for problem in _problems(inline.get("policy")):
                report(f"inline policy {inline.get('name')} {problem}", None)
        return
    for problem in _problems(props.get("policy")):
        report(f"the policy {problem}", None)
