"""Registry role on Docker: the stage runs images straight from the registry the release names.

A local stage keeps no registry of its own (no fake one is created): the registry URL is the
host the release's images are pulled from, and each service's repository is the one its
digest-pinned image reference names. The services role pulls them (``docker.RemoteImage``).
"""

from __future__ import annotations

import pulumi

from components.docker.context import DockerContext, child
from components.roles import role_token
from components.spec.model import repository_of


def registry_host(repository: str) -> str:
    """``ghcr.io`` for ``ghcr.io/org/app``; Docker Hub for a bare ``org/app`` or ``app``."""
    first = repository.split("/", 1)[0]
    if "/" in repository and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


class Registry(pulumi.ComponentResource):
    registry_url: pulumi.Output[str]
    repository_urls: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, ctx: DockerContext, parent: pulumi.Resource) -> None:
        super().__init__(role_token("docker", "Registry"), name, None, child(parent))
        images = ctx.spec.release.images
        self.repository_urls = {
            service: pulumi.Output.from_input(repository_of(images[service]))
            for service in sorted(ctx.spec.shape.services)
        }
        hosts = sorted({registry_host(repository_of(i)) for i in images.values()})
        self.registry_url = pulumi.Output.from_input(",".join(hosts))
        self.register_outputs(
            {"registryUrl": self.registry_url, "repositoryUrls": self.repository_urls}
        )
