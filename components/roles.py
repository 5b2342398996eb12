"""Role interfaces: what each part of an environment offers, whatever the substrate.

A substrate (``components/aws``, ``components/azure``, ``components/docker``) builds the seven
roles and returns them as :class:`Roles`. ``Environment`` reads only these attributes, so
``__main__.py`` never changes when a substrate is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pulumi

from components import project
from components.spec import StageSpec

# One type-token scheme for every component: <project>:<substrate>:<Role>.
ROLE_NAMES = ("Network", "Keys", "Logs", "Registry", "Database", "Storage", "Services")


def role_token(substrate: str, role: str) -> str:
    return f"{project.name()}:{substrate}:{role}"


class NetworkRole(Protocol):
    """Private network the stage lives in."""

    network_id: pulumi.Output[str]


class KeysRole(Protocol):
    """Encryption keys and the app secrets store."""

    key_id: pulumi.Output[str]
    secret_ids: dict[str, pulumi.Output[str]]


class LogsRole(Protocol):
    """Where logs go, with the stage's retention."""

    log_sink_id: pulumi.Output[str]


class RegistryRole(Protocol):
    """Container registry: one repository per service."""

    registry_url: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]


class DatabaseRole(Protocol):
    """PostgreSQL database of the shape's engine and major version."""

    endpoint: pulumi.Output[str]
    engine_version: pulumi.Output[str]


class StorageRole(Protocol):
    """Private object storage."""

    bucket_name: pulumi.Output[str]


class ServicesRole(Protocol):
    """The services behind one HTTPS entry point."""

    url: pulumi.Output[str]
    service_urls: dict[str, pulumi.Output[str]]


@dataclass(frozen=True)
class Roles:
    network: NetworkRole
    keys: KeysRole
    logs: LogsRole
    registry: RegistryRole
    database: DatabaseRole
    storage: StorageRole
    services: ServicesRole


class Substrate(Protocol):
    """Builds every role of one stage, parented to ``parent``."""

    def __call__(self, name: str, spec: StageSpec, parent: pulumi.Resource) -> Roles: ...
