"""Storage role on AWS: a private, encrypted, versioned S3 bucket reachable only over TLS."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext, child, policy_json
from components.roles import role_token


def deny_insecure_transport(bucket_arn: str) -> dict[str, object]:
    """Bucket policy statement refusing any request not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def private_bucket(
    name: str, ctx: AwsContext, parent: pulumi.Resource, kms_key_arn: pulumi.Input[str] | None
) -> aws.s3.Bucket:
    """A bucket with all four public-access blocks, owner-enforced ACLs, encryption and
    versioning. ``kms_key_arn=None`` means SSE-S3 (for log delivery that cannot use KMS)."""
    bucket = aws.s3.Bucket(name, tags=ctx.tagged(name), opts=child(parent))
    aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child(parent),
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child(parent),
    )
    by_default = (
        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
    )
    default = (
        by_default(sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn)
        if kms_key_arn is not None
        else by_default(sse_algorithm="AES256")
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=default,
                bucket_key_enabled=kms_key_arn is not None,
            )
        ],
        opts=child(parent),
    )
    aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status="Enabled"
        ),
        opts=child(parent),
    )
    return bucket


def abort_incomplete_uploads(days: int = 7) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    """Lifecycle rule deleting the parts of multipart uploads never completed (billed, unseen)."""
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="abort-incomplete-uploads",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        abort_incomplete_multipart_upload=(
            aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=days
            )
        ),
    )


class Storage(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: AwsContext,
        key_arn: pulumi.Input[str],
        parent: pulumi.Resource,
        access_log_bucket: pulumi.Input[str] | None = None,
    ) -> None:
        super().__init__(role_token("aws", "Storage"), name, None, child(parent))
        bucket = private_bucket(f"{name}-bucket", ctx, self, kms_key_arn=key_arn)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-bucket-lifecycle",
            bucket=bucket.id,
            rules=[abort_incomplete_uploads()],
            opts=child(self),
        )
        if access_log_bucket is not None:
            # Server access logs into the stage's log bucket (SSE-S3, as S3 log delivery needs).
            aws.s3.BucketLogging(
                f"{name}-bucket-logging",
                bucket=bucket.id,
                target_bucket=access_log_bucket,
                target_prefix=f"s3/{name}-bucket/",
                opts=child(self),
            )
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: policy_json([deny_insecure_transport(arn)])),
            opts=child(self),
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucketName": self.bucket_name, "bucketArn": self.bucket_arn})
