"""AWS object storage rules. Since provider v7 a bucket's settings are separate resources, so
each rule is a stack rule: every bucket needs the companion resource, correctly set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, ReportViolation, Severity, StackValidationArgs

from ..graph import as_list, companions, names, of_type, statements
from ..rule import RuleSet, checkov, cis_aws

RULES = RuleSet("storage", substrate="aws")

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")


def _buckets(args: StackValidationArgs) -> list[PolicyResource]:
    return list(of_type(args.resources, *BUCKETS))


@RULES.stack(
    "aws-s3-bucket-public-access-block",
    description="Every bucket has a public access block with all four settings on.",
    severity=Severity.CRITICAL,
    remediation="Add an aws.s3.BucketPublicAccessBlock for the bucket with blockPublicAcls,"
    " blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.",
    references=(
        cis_aws("2.1.4"),
        checkov("CKV2_AWS_6"),
        checkov("CKV_AWS_53"),
        checkov("CKV_AWS_54"),
        checkov("CKV_AWS_55"),
        checkov("CKV_AWS_56"),
    ),
)
def aws_s3_bucket_public_access_block(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        blocks = companions(args.resources, bucket, PUBLIC_ACCESS_BLOCK)
        if not blocks:
            report(f"bucket {bucket.name} has no public access block", bucket.urn)
        for block in blocks:
            off = [k for k in BLOCKS if block.props.get(k) is not True]
            if off:
                report(f"bucket {bucket.name}: {', '.join(off)} not true", block.urn)


def _sse_algorithms(config: Mapping[str, Any]) -> list[str]:
    rules = as_list(config.get("rules", config.get("rule")))
    return [
        str((r.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm", ""))
        for r in rules
    ]


@RULES.stack(
    "aws-s3-bucket-encryption",
    description="Every bucket encrypts objects at rest by default.",
    severity=Severity.HIGH,
    remediation="Add an aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm"
    " aws:kms (the stage's key) or AES256.",
    references=(checkov("CKV_AWS_19"),),
)
def aws_s3_bucket_encryption(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        configs = [c.props for c in companions(args.resources, bucket, ENCRYPTION)]
        inline = bucket.props.get("serverSideEncryptionConfiguration")
        configs += [inline] if isinstance(inline, Mapping) else []
        algorithms = [a for c in configs for a in _sse_algorithms(c)]
        if not algorithms or any(a not in SSE_ALGORITHMS for a in algorithms):
            report(f"bucket {bucket.name} has no default encryption ({algorithms})", bucket.urn)


def _denies_plain_http(policy: Any) -> bool:
    for statement in statements(policy):
        condition = statement.get("Condition") or {}
        secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


@RULES.stack(
    "aws-s3-bucket-tls-only-policy",
    description="Every bucket's policy denies requests that do not use TLS.",
    severity=Severity.HIGH,
    remediation="Add a bucket policy statement: Effect Deny, Principal '*', Action s3:*,"
    " Condition Bool aws:SecureTransport false, on the bucket and its objects.",
    references=(cis_aws("2.1.1"),),
)
def aws_s3_bucket_tls_only_policy(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        policies = companions(args.resources, bucket, BUCKET_POLICY)
        if not any(_denies_plain_http(p.props.get("policy")) for p in policies):
            report(f"bucket {bucket.name} has no policy denying plain HTTP", bucket.urn)


@RULES.stack(
    "aws-s3-bucket-versioning",
    description="Every bucket keeps object versions.",
    severity=Severity.MEDIUM,
    remediation="Add an aws.s3.BucketVersioning with versioningConfiguration.status Enabled.",
    references=(checkov("CKV_AWS_21"),),
)
def aws_s3_bucket_versioning(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        statuses = [
            (v.props.get("versioningConfiguration") or {}).get("status")
            for v in companions(args.resources, bucket, VERSIONING)
        ]
        inline = bucket.props.get("versioning") or {}
        if "Enabled" not in statuses and inline.get("enabled") is not True:
            report(f"bucket {bucket.name} does not have versioning enabled", bucket.urn)


LOGGING = "aws:s3/bucketLogging:BucketLogging"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"


@RULES.stack(
    "aws-s3-bucket-access-logging",
    description="Every bucket that holds data logs its requests to the stage's access-log"
    " bucket (the log bucket itself excepted).",
    severity=Severity.MEDIUM,
    remediation="Add an s3.BucketLogging for the bucket with the stage's logs bucket as"
    " targetBucket (components/aws/storage.py).",
    references=(checkov("CKV_AWS_18"),),
)
def aws_s3_bucket_access_logging(args: StackValidationArgs, report: ReportViolation) -> None:
    buckets = _buckets(args)
    loggings = list(of_type(args.resources, LOGGING))
    for bucket in buckets:
        if any(names(bucket, logging.props.get("targetBucket")) for logging in loggings):
            continue  # the stage's access-log bucket
        if not companions(list(args.resources), bucket, LOGGING):
            report(f"bucket {bucket.name} has no access logging", bucket.urn)


@RULES.stack(
    "aws-s3-bucket-acls-disabled",
    description="Every bucket has ACLs disabled (object ownership BucketOwnerEnforced), so"
    " access is decided by policies alone.",
    severity=Severity.MEDIUM,
    remediation="Add s3.BucketOwnershipControls with rule.objectOwnership BucketOwnerEnforced.",
    references=(checkov("CKV2_AWS_65"),),
)
def aws_s3_bucket_acls_disabled(args: StackValidationArgs, report: ReportViolation) -> None:
    for bucket in _buckets(args):
        controls = companions(list(args.resources), bucket, OWNERSHIP)
        enforced = any(
            (c.props.get("rule") or {}).get("objectOwnership") == "BucketOwnerEnforced"
            for c in controls
        )
        if not enforced:
            report(f"bucket {bucket.name} has ACLs enabled", bucket.urn)
