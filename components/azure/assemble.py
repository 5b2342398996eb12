"""The blueprint on Azure (pulumi-azure-native v3): every role, wired together for one stage."""

from __future__ import annotations

import pulumi

from components.azure.context import AzureContext, workload_identity
from components.azure.database import Database, DatabaseInputs
from components.azure.keys import Keys, KeysInputs
from components.azure.logs import Logs
from components.azure.network import Network
from components.azure.registry import Registry, RegistryInputs
from components.azure.services import Services, ServicesInputs
from components.azure.storage import Storage, StorageInputs
from components.roles import Roles
from components.spec import StageSpec
from components.spec.runtime import app_secret_values


def build(name: str, spec: StageSpec, parent: pulumi.Resource) -> Roles:
    ctx = AzureContext.create(name, spec, parent)
    identity = workload_identity(f"{name}-workload", ctx, parent)
    network = Network(f"{name}-network", ctx, parent)
    endpoints, zones = network.endpoints_subnet_id, network.zone_ids
    keys = Keys(
        f"{name}-keys",
        ctx,
        app_secret_values(),
        KeysInputs(endpoints, zones["vault"], identity.principal_id),
        parent,
    )
    logs = Logs(f"{name}-logs", ctx, parent)
    registry = Registry(
        f"{name}-registry",
        ctx,
        RegistryInputs(endpoints, zones["registry"], identity.principal_id),
        parent,
    )
    database = Database(
        f"{name}-database",
        ctx,
        DatabaseInputs(
            subnet_id=network.database_subnet_id,
            zone_id=zones["database"],
            admin_principal_id=identity.principal_id,
            admin_name=identity.name,
        ),
        parent,
    )
    storage = Storage(
        f"{name}-storage",
        ctx,
        StorageInputs(endpoints, zones["blob"], identity.principal_id),
        parent,
    )
    services = Services(
        f"{name}-services",
        ctx,
        ServicesInputs(
            apps_subnet_id=network.apps_subnet_id,
            identity_id=identity.id,
            identity_client_id=identity.client_id,
            identity_name=identity.name,
            registry_url=registry.registry_url,
            repository_urls=registry.repository_urls,
            log_customer_id=logs.customer_id,
            log_shared_key=logs.shared_key,
            database_endpoint=database.endpoint,
            app_secret_uris=keys.secret_ids,
            bucket_name=storage.bucket_name,
            grants=[registry.pull_grant, keys.reader_grant],
        ),
        parent,
    )
    return Roles(network, keys, logs, registry, database, storage, services)
