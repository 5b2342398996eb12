"""Logs role on AWS: encrypted CloudWatch log groups with the stage's retention, and the bucket
that receives load balancer access logs."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext, child, policy_json
from components.aws.storage import abort_incomplete_uploads, deny_insecure_transport, private_bucket
from components.roles import role_token


class Logs(pulumi.ComponentResource):
    log_sink_id: pulumi.Output[str]
    flow_log_group_arn: pulumi.Output[str]
    service_log_groups: dict[str, pulumi.Output[str]]
    access_log_bucket: pulumi.Output[str]

    def __init__(
        self, name: str, ctx: AwsContext, key_arn: pulumi.Input[str], parent: pulumi.Resource
    ) -> None:
        super().__init__(role_token("aws", "Logs"), name, None, child(parent))
        retention = ctx.spec.scale.log_retention_days

        def group(suffix: str) -> aws.cloudwatch.LogGroup:
            return aws.cloudwatch.LogGroup(
                f"{name}-{suffix}",
                retention_in_days=retention,
                kms_key_id=key_arn,
                tags=ctx.tagged(f"{name}-{suffix}"),
                opts=child(self),
            )

        self.flow_log_group_arn = group("flow").arn
        self.service_log_groups = {svc: group(svc).name for svc in sorted(ctx.spec.shape.services)}
        # ALB access logs support only SSE-S3 on the target bucket, not SSE-KMS.
        bucket = private_bucket(f"{name}-access", ctx, self, kms_key_arn=None)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-access-expiry",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=retention
                    ),
                ),
                abort_incomplete_uploads(),
            ],
            opts=child(self),
        )
        aws.s3.BucketPolicy(
            f"{name}-access-policy",
            bucket=bucket.id,
            policy=pulumi.Output.all(bucket.arn, ctx.account_id).apply(
                lambda a: policy_json(
                    [
                        deny_insecure_transport(a[0]),
                        {
                            "Sid": "LoadBalancerLogDelivery",
                            "Effect": "Allow",
                            "Principal": {
                                "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
                            },
                            "Action": "s3:PutObject",
                            "Resource": f"{a[0]}/AWSLogs/{a[1]}/*",
                        },
                        {
                            # S3 server access logs of the stage's buckets (Storage), from this
                            # account only; owner-enforced buckets need a policy, not an ACL.
                            "Sid": "S3ServerAccessLogs",
                            "Effect": "Allow",
                            "Principal": {"Service": "logging.s3.amazonaws.com"},
                            "Action": "s3:PutObject",
                            "Resource": f"{a[0]}/s3/*",
                            "Condition": {"StringEquals": {"aws:SourceAccount": a[1]}},
                        },
                    ]
                )
            ),
            opts=child(self, depends_on=[bucket]),
        )
        self.access_log_bucket = bucket.bucket
        self.log_sink_id = self.flow_log_group_arn
        self.register_outputs(
            {
                "logSinkId": self.log_sink_id,
                "serviceLogGroups": self.service_log_groups,
                "accessLogBucket": self.access_log_bucket,
            }
        )
