"""The blueprint on AWS (pulumi-aws v7): every role, wired together for one stage."""

from __future__ import annotations

import pulumi

from components.aws.context import AwsContext
from components.aws.database import Database
from components.aws.keys import Keys
from components.aws.logs import Logs
from components.aws.network import Network
from components.aws.registry import Registry
from components.aws.services import Services, ServicesInputs
from components.aws.storage import Storage
from components.roles import Roles
from components.spec import StageSpec
from components.spec.runtime import app_secret_values


def build(name: str, spec: StageSpec, parent: pulumi.Resource) -> Roles:
    ctx = AwsContext.of(spec, parent)
    keys = Keys(f"{name}-keys", ctx, app_secret_values(), parent)
    logs = Logs(f"{name}-logs", ctx, keys.key_arn, parent)
    network = Network(f"{name}-network", ctx, logs.flow_log_group_arn, parent)
    registry = Registry(f"{name}-registry", ctx, keys.key_arn, parent)
    database = Database(
        f"{name}-database",
        ctx,
        subnet_ids=network.private_subnet_ids,
        security_group_id=network.database_security_group_id,
        key_arn=keys.key_arn,
        parent=parent,
    )
    storage = Storage(
        f"{name}-storage", ctx, keys.key_arn, parent, access_log_bucket=logs.access_log_bucket
    )
    services = Services(
        f"{name}-services",
        ctx,
        ServicesInputs(
            vpc_id=network.network_id,
            public_subnet_ids=network.public_subnet_ids,
            private_subnet_ids=network.private_subnet_ids,
            lb_security_group_id=network.lb_security_group_id,
            tasks_security_group_id=network.tasks_security_group_id,
            repository_urls=registry.repository_urls,
            repository_arns=registry.repository_arns,
            log_groups=logs.service_log_groups,
            access_log_bucket=logs.access_log_bucket,
            key_arn=keys.key_arn,
            database_secret_arn=database.master_secret_arn,
            database_endpoint=database.endpoint,
            app_secret_arns=keys.secret_ids,
            bucket_name=storage.bucket_name,
            bucket_arn=storage.bucket_arn,
        ),
        parent,
    )
    return Roles(network, keys, logs, registry, database, storage, services)
