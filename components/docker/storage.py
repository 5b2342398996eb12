"""Storage role on Docker: MinIO (S3-compatible) on the private network, TLS from the stage CA,
data on a named volume, and a one-shot MinIO client container that creates the stage's private
bucket and an app user allowed only that bucket. Both passwords are generated Pulumi secrets,
mounted as files (MinIO reads ``/run/secrets/access_key`` and ``secret_key``)."""

from __future__ import annotations

import json

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from components import project
from components.docker import images
from components.docker.context import (
    SECRETS_DIR,
    STORAGE_HOST,
    DockerContext,
    child,
    hardened,
    volume_options,
)
from components.docker.keys import Certificate
from components.roles import role_token

PORT = 9000
ROOT_USER = project.physical("admin")
APP_USER = project.physical("app")
APP_PASSWORD_FILE = f"{SECRETS_DIR}/storage-password"
# MinIO server and client read trusted CAs from <config dir>/certs/CAs.
_ETC = f"/etc/{project.name()}"
_MC_DIR = f"{_ETC}/mc"
_CERTS_DIR = f"{_ETC}/minio-certs"


def _app_policy(bucket: str) -> str:
    """The app user may list, read and write its stage's bucket, and nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                    "Resource": [f"arn:aws:s3:::{bucket}"],
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                },
            ],
        },
        sort_keys=True,
    )


def _setup_script(bucket: str) -> str:
    """Idempotent: creates the bucket, keeps it private, and (re)grants the app user."""
    policy = f"app-{bucket}"
    return "\n".join(
        [
            "set -eu",
            f'mc alias set stage https://{STORAGE_HOST}:{PORT} "$(cat {SECRETS_DIR}/access_key)"'
            f' "$(cat {SECRETS_DIR}/secret_key)"',
            f"mc mb --ignore-existing stage/{bucket}",
            f"mc anonymous set none stage/{bucket}",
            f"mc admin policy create stage {policy} {_ETC}/app-policy.json",
            f'mc admin user add stage {APP_USER} "$(cat {APP_PASSWORD_FILE})"',
            f"out=$(mc admin policy attach stage {policy} --user {APP_USER} 2>&1)"
            ' || echo "$out" | grep -qi "already"',
        ]
    )


class Storage(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    app_user: str
    app_password: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        ctx: DockerContext,
        *,
        network_name: pulumi.Input[str],
        certificate: Certificate,
        ca_cert_pem: pulumi.Input[str],
        parent: pulumi.Resource,
    ) -> None:
        super().__init__(role_token("docker", "Storage"), name, None, child(parent))
        bucket = project.physical(ctx.stack)
        root_password = random.RandomPassword(
            f"{name}-root-password", length=40, special=False, opts=child(self)
        )
        app_password = random.RandomPassword(
            f"{name}-app-password", length=40, special=False, opts=child(self)
        )
        self.app_user = APP_USER
        self.app_password = pulumi.Output.secret(app_password.result)
        root_secret: pulumi.Output[str] = pulumi.Output.secret(root_password.result)
        volume = docker.Volume(
            f"{name}-data", labels=ctx.volume_labels(f"{name}-data"), opts=volume_options(self)
        )
        network = docker.ContainerNetworksAdvancedArgs(name=network_name, aliases=[STORAGE_HOST])
        trust = docker.ContainerUploadArgs(
            file=f"{_MC_DIR}/certs/CAs/{project.physical('ca')}.crt",
            content=ca_cert_pem,
            permissions="0644",
        )
        credentials = [
            docker.ContainerUploadArgs(
                file=f"{SECRETS_DIR}/access_key", content=ROOT_USER, permissions="0400"
            ),
            docker.ContainerUploadArgs(
                file=f"{SECRETS_DIR}/secret_key", content=root_secret, permissions="0400"
            ),
        ]
        server_image = docker.RemoteImage(
            f"{name}-minio-image",
            name=images.pinned(ctx.spec, "minio"),
            keep_locally=True,
            opts=child(self),
        )
        server = docker.Container(
            f"{name}-minio",
            image=server_image.repo_digest,
            command=["server", "/data", "--address", f":{PORT}", "--certs-dir", _CERTS_DIR],
            envs=[
                "MINIO_BROWSER=off",
                f"MC_CONFIG_DIR={_MC_DIR}",
                # The health check's alias: no credentials, only the unauthenticated probe.
                f"MC_HOST_health=https://localhost:{PORT}",
            ],
            uploads=[
                *credentials,
                trust,
                docker.ContainerUploadArgs(
                    file=f"{_CERTS_DIR}/public.crt",
                    content=certificate.cert_pem,
                    permissions="0644",
                ),
                docker.ContainerUploadArgs(
                    file=f"{_CERTS_DIR}/private.key",
                    content=certificate.key_pem,
                    permissions="0400",
                ),
            ],
            volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path="/data")],
            networks_advanced=[network],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=["CMD", "mc", "ready", "health"],
                interval="10s",
                timeout="5s",
                retries=5,
                start_period="20s",
            ),
            labels=ctx.container_labels(f"{name}-minio"),
            **hardened(),
            wait=True,
            opts=child(self),
        )
        client_image = docker.RemoteImage(
            f"{name}-mc-image",
            name=images.pinned(ctx.spec, "mc"),
            keep_locally=True,
            opts=child(self),
        )
        # One-shot: runs the setup script to completion on create, then stays exited.
        docker.Container(
            f"{name}-bucket",
            image=client_image.repo_digest,
            entrypoints=["/bin/sh", "-c"],
            command=[_setup_script(bucket)],
            envs=[f"MC_CONFIG_DIR={_MC_DIR}"],
            uploads=[
                *credentials,
                trust,
                docker.ContainerUploadArgs(
                    file=APP_PASSWORD_FILE, content=self.app_password, permissions="0400"
                ),
                docker.ContainerUploadArgs(
                    file=f"{_ETC}/app-policy.json",
                    content=_app_policy(bucket),
                    permissions="0644",
                ),
            ],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network_name)],
            labels=ctx.container_labels(f"{name}-bucket"),
            **hardened(restart="no", init=False),
            must_run=False,
            attach=True,
            logs=True,
            opts=child(self, depends_on=[server]),
        )
        self.bucket_name = pulumi.Output.from_input(bucket)
        self.endpoint = pulumi.Output.from_input(f"https://{STORAGE_HOST}:{PORT}")
        self.register_outputs({"bucketName": self.bucket_name, "endpoint": self.endpoint})
