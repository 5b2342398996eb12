"""Database role on Docker: PostgreSQL of the shape's major version in a container, on the
private network only (no published port), data on a named volume, TLS with a certificate from
the stage CA, and a generated password that exists only as a Pulumi secret and a mounted file."""

from __future__ import annotations

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from components import project
from components.docker import images
from components.docker.context import (
    DATABASE_HOST,
    SERVICE_FILES_DIR,
    DockerContext,
    child,
    hardened,
    volume_options,
)
from components.docker.files import File, write_files
from components.docker.keys import Certificate
from components.roles import role_token

USER = project.database_user()
# uid:gid of the postgres user in the official Debian-based image (and ours, tools/images): it
# must own its TLS key, and reads the password file after the entrypoint drops to it.
_POSTGRES_OWNER = "999:999"
_FILES_DIR = SERVICE_FILES_DIR
PASSWORD_FILE = f"{_FILES_DIR}/password"


class Database(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    engine_version: pulumi.Output[str]
    password: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: DockerContext,
        *,
        network_name: pulumi.Input[str],
        certificate: Certificate,
        parent: pulumi.Resource,
    ) -> None:
        super().__init__(role_token("docker", "Database"), name, None, child(parent))
        shape = ctx.spec.shape.database
        if images.postgres(shape.major_version) is None:  # check_substrate() refuses it first
            raise ValueError(f"no pinned PostgreSQL {shape.major_version} image")
        image_ref = images.pinned(ctx.spec, f"postgres-{shape.major_version}")
        password = random.RandomPassword(
            f"{name}-password", length=32, special=False, opts=child(self)
        )
        self.password = pulumi.Output.secret(password.result)
        volume = docker.Volume(
            f"{name}-data",
            labels=ctx.volume_labels(f"{name}-data"),
            # Where the stage protects its data, `pulumi destroy` leaves the volume in place.
            opts=volume_options(self, retain_on_delete=ctx.spec.scale.database.deletion_protection),
        )
        image = docker.RemoteImage(
            f"{name}-image", name=image_ref, keep_locally=True, opts=child(self)
        )
        writer_image = docker.RemoteImage(
            f"{name}-files-image",
            name=images.pinned(ctx.spec, "files"),
            keep_locally=True,
            opts=child(self),
        )
        files = write_files(
            self,
            f"{name}-files",
            ctx,
            image=writer_image.repo_digest,
            files=[
                File("password", self.password, "0400"),
                File("server.crt", certificate.cert_pem, "0644"),
                File("server.key", certificate.key_pem, "0600"),
            ],
            owner=_POSTGRES_OWNER,
        )
        port = shape.port
        postgres_args = [
            "postgres",
            "-c", f"port={port}",
            "-c", "ssl=on",
            "-c", f"ssl_cert_file={_FILES_DIR}/server.crt",
            "-c", f"ssl_key_file={_FILES_DIR}/server.key",
            "-c", "ssl_min_protocol_version=TLSv1.2",
            "-c", "log_connections=on",
        ]  # fmt: skip
        docker.Container(
            f"{name}-postgres",
            image=image.repo_digest,
            command=postgres_args,
            envs=[
                f"POSTGRES_USER={USER}",
                f"POSTGRES_DB={shape.name}",
                f"POSTGRES_PASSWORD_FILE={PASSWORD_FILE}",
                "POSTGRES_INITDB_ARGS=--auth-host=scram-sha-256",
            ],
            volumes=[
                docker.ContainerVolumeArgs(
                    volume_name=volume.name, container_path="/var/lib/postgresql/data"
                ),
                files.mount(_FILES_DIR),
            ],
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(name=network_name, aliases=[DATABASE_HOST])
            ],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=[
                    "CMD",
                    "pg_isready",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "-U",
                    USER,
                    "-d",
                    shape.name,
                ],
                interval="10s",
                timeout="5s",
                retries=5,
                start_period="30s",
            ),
            labels=ctx.container_labels(f"{name}-postgres"),
            # The entrypoint prepares the data directory as root, then drops to postgres.
            **hardened(cap_add=["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]),
            wait=True,
            opts=child(
                self,
                retain_on_delete=ctx.spec.scale.database.deletion_protection,
                depends_on=[files.writer],
            ),
        )
        self.endpoint = pulumi.Output.from_input(f"{DATABASE_HOST}:{port}")
        self.engine_version = pulumi.Output.from_input(str(shape.major_version))
        self.register_outputs({"endpoint": self.endpoint, "engineVersion": self.engine_version})
