"""Services role on Docker: each service as containers of its release image (pinned by digest)
on the private network, behind one Caddy proxy that terminates TLS with a certificate from the
stage CA and is published on the loopback address only.

Each service answers at ``https://{service}.{domain}:{port}``; the host port is one Docker picks
from its free range, so two stages on one host never collide (``pulumi stack output``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import pulumi
import pulumi_docker as docker

from components import project
from components.docker import images
from components.docker.context import (
    SERVICE_FILES_DIR,
    DockerContext,
    child,
    hardened,
)
from components.docker.files import File, write_files
from components.docker.keys import Certificate, app_secret_path
from components.roles import role_token
from components.spec.model import DataRole

HTTPS_PORT = 443
_HEALTH_PORT = 8081  # the proxy's own health endpoint, inside its network namespace only
_TLS_DIR = "/etc/caddy/tls"
# Services run as an unprivileged user on a read-only root file system; their files (CA,
# password files) are written into a volume they mount read-only (components/docker/files.py).
SERVICE_USER = "10001"
_FILES_OWNER = f"{SERVICE_USER}:{SERVICE_USER}"
CA_PATH = f"{SERVICE_FILES_DIR}/ca.crt"
DATABASE_PASSWORD_FILE = f"{SERVICE_FILES_DIR}/database-password"
STORAGE_PASSWORD_FILE = f"{SERVICE_FILES_DIR}/storage-password"


@dataclass(frozen=True)
class ServicesInputs:
    """What the services role needs from the other roles."""

    private_network_name: pulumi.Output[str]
    edge_network_name: pulumi.Output[str]
    certificate: Certificate
    ca_cert_pem: pulumi.Output[str]
    database_endpoint: pulumi.Output[str]
    database_password: pulumi.Output[str]
    bucket_name: pulumi.Output[str]
    storage_endpoint: pulumi.Output[str]
    storage_user: str
    storage_password: pulumi.Output[str]
    app_secret_values: pulumi.Output[dict[str, str]]


def _entry(name: str) -> Callable[[dict[str, str]], str]:
    return lambda values: values[name]


def replica_host(service: str, index: int) -> str:
    return f"{service}-{index}"


def caddyfile(ctx: DockerContext) -> str:
    """The proxy's configuration: one TLS site per service, load-balanced over its replicas."""
    spec = ctx.spec
    tls_version = f"tls{spec.shape.tls.min_version}"
    lines = [
        "{",
        "\tadmin off",
        "\tauto_https off",
        "}",
        "",
        f"http://:{_HEALTH_PORT} {{",
        "\trespond /healthz 200",
        "}",
    ]
    for service, shape in sorted(spec.shape.services.items()):
        if not shape.public:
            continue
        replicas = spec.scale.service(service).min_replicas
        upstreams = " ".join(f"{replica_host(service, i)}:{shape.port}" for i in range(replicas))
        lines += [
            "",
            f"{service}.{spec.identity.domain}:{HTTPS_PORT} {{",
            f"\ttls {_TLS_DIR}/cert.pem {_TLS_DIR}/key.pem {{",
            f"\t\tprotocols {tls_version}",
            "\t}",
            f"\treverse_proxy {upstreams} {{",
            f"\t\thealth_uri {shape.health_path}",
            "\t\thealth_interval 15s",
            "\t}",
            "\theader Strict-Transport-Security max-age=31536000",
        ]
        if spec.shape.logging.access_logs:
            lines.append("\tlog")
        lines.append("}")
    return "\n".join(lines) + "\n"


class Services(pulumi.ComponentResource):
    url: pulumi.Output[str]
    service_urls: dict[str, pulumi.Output[str]]
    https_port: pulumi.Output[int]

    def __init__(
        self, name: str, ctx: DockerContext, inputs: ServicesInputs, parent: pulumi.Resource
    ) -> None:
        super().__init__(role_token("docker", "Services"), name, None, child(parent))
        spec = ctx.spec
        self._writer_image = docker.RemoteImage(
            f"{name}-files-image",
            name=images.pinned(spec, "files"),
            keep_locally=True,
            opts=child(self),
        ).repo_digest
        replicas: list[docker.Container] = []
        for service in sorted(spec.shape.services):
            replicas += self._service(name, service, ctx, inputs)
        proxy = self._proxy(name, ctx, inputs, replicas)
        self.https_port = proxy.ports.apply(_published_port)
        self.service_urls = {
            service: pulumi.Output.concat(
                "https://", service, ".", spec.identity.domain, ":", self.https_port.apply(str)
            )
            for service, shape in sorted(spec.shape.services.items())
            if shape.public
        }
        self.url = self.service_urls[sorted(self.service_urls)[0]]
        self.register_outputs({"url": self.url, "serviceUrls": self.service_urls})

    def _service(
        self, name: str, service: str, ctx: DockerContext, inputs: ServicesInputs
    ) -> list[docker.Container]:
        spec = ctx.spec
        shape, scale = spec.shape.services[service], spec.scale.service(service)
        prefix = f"{name}-{service}"
        image = docker.RemoteImage(
            f"{prefix}-image",
            name=spec.release.images[service],
            keep_locally=True,
            opts=child(self),
        )
        health = f"wget -q -O /dev/null http://127.0.0.1:{shape.port}{shape.health_path} || exit 1"
        # Only the data roles the service uses reach it: endpoints, users and password files.
        uses_database = DataRole.DATABASE in shape.uses
        uses_storage = DataRole.STORAGE in shape.uses
        database_env: list[pulumi.Input[str]] = [
            pulumi.Output.concat("DATABASE_ENDPOINT=", inputs.database_endpoint),
            f"DATABASE_NAME={spec.shape.database.name}",
            f"DATABASE_USER={project.database_user()}",
            f"DATABASE_PASSWORD_FILE={DATABASE_PASSWORD_FILE}",
            "PGSSLMODE=verify-full",
            f"PGSSLROOTCERT={CA_PATH}",
        ]
        storage_env: list[pulumi.Input[str]] = [
            pulumi.Output.concat("BUCKET_NAME=", inputs.bucket_name),
            pulumi.Output.concat("STORAGE_ENDPOINT=", inputs.storage_endpoint),
            f"STORAGE_USER={inputs.storage_user}",
            f"STORAGE_PASSWORD_FILE={STORAGE_PASSWORD_FILE}",
            f"AWS_CA_BUNDLE={CA_PATH}",
        ]
        envs: list[pulumi.Input[str]] = [
            f"STAGELINE_STAGE={spec.identity.stage}",
            f"STAGELINE_RELEASE={spec.release.id}",
            f"STAGELINE_SERVICE={service}",
            f"PORT={shape.port}",
            f"HEALTH_PATH={shape.health_path}",
            *(database_env if uses_database else []),
            *(storage_env if uses_storage else []),
            *[
                f"APP_SECRET_{key.upper()}_FILE={app_secret_path(key)}"
                for key in sorted(spec.secret_keys)
            ],
        ]
        files = [
            File(_file_name(CA_PATH), inputs.ca_cert_pem, "0444"),
            *(
                [_secret_file(DATABASE_PASSWORD_FILE, inputs.database_password)]
                if uses_database
                else []
            ),
            *(
                [_secret_file(STORAGE_PASSWORD_FILE, inputs.storage_password)]
                if uses_storage
                else []
            ),
            *[
                _secret_file(app_secret_path(key), inputs.app_secret_values.apply(_entry(key)))
                for key in sorted(spec.secret_keys)
            ],
        ]
        containers = []
        for index in range(scale.min_replicas):
            written = write_files(
                self,
                f"{prefix}-{index}-files",
                ctx,
                image=self._writer_image,
                files=files,
                owner=_FILES_OWNER,
            )
            containers.append(
                docker.Container(
                    f"{prefix}-{index}",
                    image=image.repo_digest,
                    envs=envs,
                    user=SERVICE_USER,
                    read_only=True,
                    tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
                    volumes=[written.mount(SERVICE_FILES_DIR)],
                    memory=scale.memory,
                    # No swap, and declared: left unset, Docker reads back twice the memory and
                    # every refresh would update the service (seen by the first real up).
                    memory_swap=scale.memory,
                    cpus=f"{scale.cpu / 1024:g}",
                    networks_advanced=[
                        docker.ContainerNetworksAdvancedArgs(
                            name=inputs.private_network_name,
                            aliases=[service, replica_host(service, index)],
                        )
                    ],
                    healthcheck=docker.ContainerHealthcheckArgs(
                        tests=["CMD-SHELL", health],
                        interval="15s",
                        timeout="5s",
                        retries=3,
                        start_period="30s",
                    ),
                    labels=ctx.container_labels(f"{prefix}-{index}"),
                    **hardened(),
                    opts=child(self, depends_on=[written.writer]),
                )
            )
        return containers

    def _proxy(
        self,
        name: str,
        ctx: DockerContext,
        inputs: ServicesInputs,
        replicas: list[docker.Container],
    ) -> docker.Container:
        image = docker.RemoteImage(
            f"{name}-proxy-image",
            name=images.pinned(ctx.spec, "caddy"),
            keep_locally=True,
            opts=child(self),
        )
        return docker.Container(
            f"{name}-proxy",
            image=image.repo_digest,
            uploads=[
                docker.ContainerUploadArgs(
                    file="/etc/caddy/Caddyfile", content=caddyfile(ctx), permissions="0444"
                ),
                docker.ContainerUploadArgs(
                    file=f"{_TLS_DIR}/cert.pem",
                    content=inputs.certificate.cert_pem,
                    permissions="0444",
                ),
                docker.ContainerUploadArgs(
                    file=f"{_TLS_DIR}/key.pem",
                    content=inputs.certificate.key_pem,
                    permissions="0400",
                ),
            ],
            # Published on loopback only; Docker picks a free host port (see the stack outputs).
            ports=[docker.ContainerPortArgs(internal=HTTPS_PORT, ip="127.0.0.1", protocol="tcp")],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=inputs.edge_network_name),
                docker.ContainerNetworksAdvancedArgs(name=inputs.private_network_name),
            ],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=[
                    "CMD",
                    "wget",
                    "-q",
                    "-O",
                    "/dev/null",
                    f"http://127.0.0.1:{_HEALTH_PORT}/healthz",
                ],
                interval="15s",
                timeout="5s",
                retries=3,
                start_period="10s",
            ),
            labels=ctx.container_labels(f"{name}-proxy"),
            # Caddy binds 443 inside its own network namespace.
            **hardened(cap_add=["NET_BIND_SERVICE"]),
            opts=child(self, depends_on=replicas),
        )


def _file_name(path: str) -> str:
    """A file's name in the service's files volume (mounted at SERVICE_FILES_DIR)."""
    return PurePosixPath(path).name


def _secret_file(path: str, value: pulumi.Input[str]) -> File:
    """A secret as a file only the service user can read; the value stays a Pulumi secret."""
    return File(_file_name(path), pulumi.Output.secret(value), "0400")


def _published_port(ports: Any) -> int:
    """The host port Docker bound for the proxy's HTTPS port."""
    for port in ports or []:
        if port.internal == HTTPS_PORT and port.external:
            return int(port.external)
    raise ValueError("the proxy container has no published HTTPS port")
