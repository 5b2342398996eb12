"""Files a container reads (certificates, keys, password files), written into a named volume by a
one-shot container, so the container that reads them mounts the volume read-only.

Why not the provider's ``uploads``: terraform-provider-docker copies an upload as a tar at ``/``
of the container, which a Docker engine refuses on a read-only root file system ("Unable to
upload volume content ... container rootfs is marked read-only"); and an upload ``owner`` is
looked up in the host's passwd by Docker 20.10 ("getent unable to find entry"). Both were seen
by the first real ``pulumi up`` of the local stage (issue 21). Here the upload goes into the
writer's own writable root, and the writer copies it into the volume with a numeric owner that
no passwd needs to know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker.context import DockerContext, child, hardened, volume_options

MOUNT = "/files"
_STAGING = "/staging"


@dataclass(frozen=True)
class File:
    """One file of a set: its name in the volume, its content (may be a secret) and its mode."""

    name: str
    content: pulumi.Input[str]
    mode: str = "0400"


@dataclass(frozen=True)
class WrittenFiles:
    """The volume holding the files, and the writer that must finish before a reader starts."""

    volume: docker.Volume
    writer: docker.Container

    def mount(self, path: str) -> docker.ContainerVolumeArgs:
        """The volume mounted read-only at ``path`` in the reading container."""
        return docker.ContainerVolumeArgs(
            volume_name=self.volume.name, container_path=path, read_only=True
        )


def _script(owner: str) -> str:
    """Replace the volume's content with the staged files, owned by ``owner`` (uid:gid).

    No file is named: the names (``database-password``) would read as secrets on a command line.
    """
    return "\n".join(
        [
            "set -eu",
            # Old files may be 0400 and owned by the reader: remove rather than overwrite them.
            f"find {MOUNT} -mindepth 1 -delete",
            f"cp -Rp {_STAGING}/. {MOUNT}/",
            # The volume's own directory stays root's, so the next writer can empty it.
            f"find {MOUNT} -mindepth 1 -exec chown {owner} {{}} +",
        ]
    )


def write_files(
    parent: pulumi.Resource,
    name: str,
    ctx: DockerContext,
    *,
    image: pulumi.Input[str],
    files: Sequence[File],
    owner: str,
) -> WrittenFiles:
    """A volume named ``name`` and the one-shot container that fills it with ``files``.

    The writer is replaced whenever a file's content changes (uploads are ForceNew in the
    provider), so the volume always holds what the program declares. It has no network.
    """
    volume = docker.Volume(name, labels=ctx.volume_labels(name), opts=volume_options(parent))
    writer = docker.Container(
        f"{name}-writer",
        image=image,
        entrypoints=["/bin/sh", "-c"],
        command=[_script(owner)],
        uploads=[
            docker.ContainerUploadArgs(
                file=f"{_STAGING}/{f.name}", content=f.content, permissions=f.mode
            )
            for f in files
        ],
        volumes=[docker.ContainerVolumeArgs(volume_name=volume.name, container_path=MOUNT)],
        network_mode="none",
        labels=ctx.container_labels(f"{name}-writer"),
        # Root in the writer's own namespaces, allowed only to hand the files to ``owner``.
        **hardened(cap_add=["CHOWN"], restart="no", init=False),
        must_run=False,
        attach=True,
        opts=child(parent),
    )
    return WrittenFiles(volume, writer)
