"""What every Docker role of one stage shares: the spec, its labels, log rotation, and the check
that the shape asks for nothing one Docker host cannot provide."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_docker as docker

from components.docker.substrate import unrealizable
from components.spec import StageSpec
from components.spec.loader import PROJECT

LOG_DRIVER = "json-file"
# Rotation keeps a stage's logs to at most 3 x 10 MB per container on the host.
LOG_OPTS = {"max-size": "10m", "max-file": "3"}
SECRETS_DIR = "/run/secrets"
# Services run on a read-only root, and Docker copies files only into a writable root or a
# volume: each service replica gets a small volume here for its CA and secret files.
SERVICE_FILES_DIR = f"/run/{PROJECT}"
# Names containers answer under on the stage's private network (network aliases).
DATABASE_HOST = "database"
STORAGE_HOST = "storage"


@dataclass(frozen=True)
class DockerContext:
    spec: StageSpec
    tags: dict[str, str]

    @classmethod
    def of(cls, spec: StageSpec) -> DockerContext:
        return cls(spec=spec, tags=spec.identity.resource_tags())

    @property
    def stack(self) -> str:
        return self.spec.identity.stack

    def container_labels(self, name: str) -> list[docker.ContainerLabelArgs]:
        """The stage's tags as labels (sorted, so every stage lists them in the same order)."""
        return [
            docker.ContainerLabelArgs(label=k, value=v)
            for k, v in sorted({**self.tags, "name": name}.items())
        ]

    def network_labels(self, name: str) -> list[docker.NetworkLabelArgs]:
        return [
            docker.NetworkLabelArgs(label=k, value=v)
            for k, v in sorted({**self.tags, "name": name}.items())
        ]

    def volume_labels(self, name: str) -> list[docker.VolumeLabelArgs]:
        return [
            docker.VolumeLabelArgs(label=k, value=v)
            for k, v in sorted({**self.tags, "name": name}.items())
        ]


def child(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, **kwargs)


def volume_options(parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
    """Options of every volume: its labels are those the stage had when it was created.

    A volume's labels are ForceNew (kreuzwerker/terraform-provider-docker,
    internal/provider/resource_docker_volume.go, read at 013b65e4): a new owner or cost-center
    tag would otherwise replace the volume, that is, empty the database's or storage's data.
    """
    return child(parent, ignore_changes=["labels"], **kwargs)


def network_options(parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """Options of every bridge network: delete the old network before creating its replacement.

    Pulumi creates a replacement first by default (resource option deleteBeforeReplace), but a
    Docker engine refuses a second network whose subnet overlaps one it has ("Pool overlaps with
    other one on this address space"), and labels, subnet and options are all ForceNew
    (resource_docker_network.go). The engine then replaces the attached containers first too.
    """
    return child(parent, delete_before_replace=True)


def hardened(**kwargs: Any) -> dict[str, Any]:
    """Container arguments every container of a stage shares: never privileged, no new
    privileges, every capability dropped unless listed, logs rotated, restarted on failure.

    Added capabilities are declared as the engine reads them back (``CAP_CHOWN``): Docker 20.10
    stores them with the prefix, and the provider's read of ``CHOWN`` would replace the
    container on every refresh (seen by the first real ``up``, issue 21).
    """
    adds = [f"CAP_{name.removeprefix('CAP_')}" for name in kwargs.pop("cap_add", [])]
    return {
        "privileged": False,
        "security_opts": ["no-new-privileges:true"],
        "capabilities": docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=adds),
        "log_driver": LOG_DRIVER,
        "log_opts": LOG_OPTS,
        "restart": "unless-stopped",
        "init": True,
        **kwargs,
    }


def check_substrate(spec: StageSpec) -> None:
    """Stop before any Docker resource is declared if the shape cannot be honoured here."""
    problems = unrealizable(spec)
    if problems:
        source = f"stacks/Pulumi.{spec.identity.stack}.yaml"
        lines = "\n".join(f"{source}: {PROJECT}:{path}: expected {what}" for path, what in problems)
        raise pulumi.RunError(f"invalid stage configuration for docker:\n{lines}")
