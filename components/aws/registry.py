"""Registry role on AWS: one ECR repository per service, immutable tags, scanned on push."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.aws.context import AwsContext, child
from components.roles import role_token

# Keep the newest images; releases are pinned by digest, so old ones are safe to expire.
_LIFECYCLE = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Keep the newest 100 images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": 100,
                },
                "action": {"type": "expire"},
            }
        ]
    },
    sort_keys=True,
)


class Registry(pulumi.ComponentResource):
    registry_url: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]
    repository_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self, name: str, ctx: AwsContext, key_arn: pulumi.Input[str], parent: pulumi.Resource
    ) -> None:
        super().__init__(role_token("aws", "Registry"), name, None, child(parent))
        self.repository_urls, self.repository_arns = {}, {}
        for service in sorted(ctx.spec.shape.services):
            repo = aws.ecr.Repository(
                f"{name}-{service}",
                image_tag_mutability="IMMUTABLE",
                # A repository holding images cannot be deleted unless forced: dev and test
                # force it (scale.registryForceDelete), live never may (StageSpec.problems).
                force_delete=ctx.spec.scale.registry_force_delete,
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                    scan_on_push=True
                ),
                encryption_configurations=[
                    aws.ecr.RepositoryEncryptionConfigurationArgs(
                        encryption_type="KMS", kms_key=key_arn
                    )
                ],
                tags=ctx.tagged(f"{name}-{service}"),
                opts=child(self),
            )
            aws.ecr.LifecyclePolicy(
                f"{name}-{service}-lifecycle",
                repository=repo.name,
                policy=_LIFECYCLE,
                opts=child(self),
            )
            self.repository_urls[service] = repo.repository_url
            self.repository_arns[service] = repo.arn
        self.registry_url = pulumi.Output.concat(
            ctx.account_id, ".dkr.ecr.", ctx.region, ".amazonaws.com"
        )
        self.register_outputs(
            {
                "registryUrl": self.registry_url,
                "repositoryUrls": self.repository_urls,
            }
        )
