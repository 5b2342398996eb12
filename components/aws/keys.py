"""Keys role on AWS: one customer-managed KMS key per stage, and Secrets Manager for app secrets."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws

from components import project
from components.aws.context import AwsContext, child, policy_json
from components.roles import role_token


def _entry(name: str) -> Callable[[dict[str, str]], str]:
    return lambda values: values[name]


class Keys(pulumi.ComponentResource):
    key_id: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    secret_ids: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        ctx: AwsContext,
        secret_values: pulumi.Output[dict[str, str]],
        parent: pulumi.Resource,
    ) -> None:
        super().__init__(role_token("aws", "Keys"), name, None, child(parent))
        policy = pulumi.Output.all(ctx.account_id, ctx.partition).apply(
            lambda a: self._key_policy(a[0], a[1], ctx.region)
        )
        key = aws.kms.Key(
            f"{name}-data",
            description=f"{project.name()} {ctx.spec.identity.stage}: data at rest",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy,
            tags=ctx.tagged(f"{name}-data"),
            opts=child(self),
        )
        aws.kms.Alias(
            f"{name}-data-alias",
            name_prefix=f"alias/{project.physical(ctx.spec.identity.stage)}-",
            target_key_id=key.key_id,
            opts=child(self),
        )
        self.secret_ids = {}
        for secret_name in ctx.spec.secret_keys:
            secret = aws.secretsmanager.Secret(
                f"{name}-{secret_name.lower()}",
                description=f"{project.name()} {ctx.spec.identity.stage}: app secret {secret_name}",
                kms_key_id=key.arn,
                recovery_window_in_days=30,
                tags=ctx.tagged(f"{name}-{secret_name.lower()}"),
                opts=child(self),
            )
            aws.secretsmanager.SecretVersion(
                f"{name}-{secret_name.lower()}-value",
                secret_id=secret.id,
                secret_string=secret_values.apply(_entry(secret_name)),  # stays secret
                opts=child(self),
            )
            self.secret_ids[secret_name] = secret.arn
        self.key_id = key.key_id
        self.key_arn = key.arn
        self.register_outputs({"keyId": self.key_id, "secretIds": self.secret_ids})

    @staticmethod
    def _key_policy(account_id: str, partition: str, region: str) -> str:
        root = f"arn:{partition}:iam::{account_id}:root"
        return policy_json(
            [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchLogsEncrypt",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                    "Action": [
                        "kms:Encrypt*",
                        "kms:Decrypt*",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:Describe*",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": (
                                f"arn:{partition}:logs:{region}:{account_id}:*"
                            )
                        }
                    },
                },
            ]
        )
