"""What every AWS role of one stage shares: the spec, its tags and account facts from invokes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.spec import StageSpec


@dataclass(frozen=True)
class AwsContext:
    spec: StageSpec
    tags: dict[str, str]
    account_id: pulumi.Output[str]
    partition: pulumi.Output[str]
    region: str

    @classmethod
    def of(cls, spec: StageSpec, parent: pulumi.Resource) -> AwsContext:
        opts = pulumi.InvokeOutputOptions(parent=parent)
        return cls(
            spec=spec,
            tags=spec.identity.resource_tags(),
            account_id=aws.get_caller_identity_output(opts=opts).account_id,
            partition=aws.get_partition_output(opts=opts).partition,
            region=spec.identity.region,
        )

    def tagged(self, name: str) -> dict[str, str]:
        """The stage's tags plus a Name tag (shown in the AWS console)."""
        return {**self.tags, "Name": name}


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def policy_json(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def assume_role_policy(service: str) -> str:
    return policy_json(
        [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]
    )
