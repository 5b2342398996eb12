"""The blueprint on Docker (pulumi-docker v5): every role on one host, for a local stage.

Same roles and outputs as the clouds; what one host cannot provide (KMS, flow logs) the stack
file states in its shape and ``stacks/pipeline.yaml`` declares as substrate differences.
"""

from __future__ import annotations

import pulumi

from components.docker.context import DockerContext, check_substrate
from components.docker.database import Database
from components.docker.keys import Keys
from components.docker.logs import Logs
from components.docker.network import Network
from components.docker.registry import Registry
from components.docker.services import Services, ServicesInputs
from components.docker.storage import Storage
from components.roles import Roles
from components.spec import StageSpec
from components.spec.runtime import app_secret_values


def build(name: str, spec: StageSpec, parent: pulumi.Resource) -> Roles:
    check_substrate(spec)
    ctx = DockerContext.of(spec)
    keys = Keys(f"{name}-keys", ctx, parent)
    logs = Logs(f"{name}-logs", ctx, parent)
    network = Network(f"{name}-network", ctx, parent)
    registry = Registry(f"{name}-registry", ctx, parent)
    database = Database(
        f"{name}-database",
        ctx,
        network_name=network.private_network_name,
        certificate=keys.certificates["database"],
        parent=parent,
    )
    storage = Storage(
        f"{name}-storage",
        ctx,
        network_name=network.private_network_name,
        certificate=keys.certificates["storage"],
        ca_cert_pem=keys.ca_cert_pem,
        parent=parent,
    )
    services = Services(
        f"{name}-services",
        ctx,
        ServicesInputs(
            private_network_name=network.private_network_name,
            edge_network_name=network.edge_network_name,
            certificate=keys.certificates["proxy"],
            ca_cert_pem=keys.ca_cert_pem,
            database_endpoint=database.endpoint,
            database_password=database.password,
            bucket_name=storage.bucket_name,
            storage_endpoint=storage.endpoint,
            storage_user=storage.app_user,
            storage_password=storage.app_password,
            app_secret_values=app_secret_values(),
        ),
        parent,
    )
    return Roles(network, keys, logs, registry, database, storage, services)
