"""Images of the Docker substrate's own infrastructure, each pinned by digest (never a tag).

No registry can be reached from the machine these were written on, so every digest below was
taken from public, digest-pinned references to the image and NOT checked against its registry.
``VERIFY_BEFORE_UP`` says so in code; docs/local.md explains how to check and refresh them
(``docker buildx imagetools inspect <image>``). The tag in each reference is for people: Docker
pulls by the digest alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.spec import StageSpec

VERIFY_BEFORE_UP = True
"""The digests below are unverified from this machine; check them before the first ``up``."""

POSTGRES: dict[int, str] = {
    16: "postgres:16@sha256:95206741a5b214807675e14165369d05b93a9cf692223b616d07cca227e74b0b",
}
"""PostgreSQL (official Debian image) by major version; a shape may only ask for these."""

MINIO = "minio/minio@sha256:14cea493d9a34af32f524e538b8346cf79f3321eff8e708c1e2960462bd8936e"
"""MinIO server RELEASE.2025-09-07T16-13-09Z (S3-compatible object storage)."""

MINIO_CLIENT = "minio/mc@sha256:a7fe349ef4bd8521fb8497f55c6042871b2ae640607cf99d9bede5e9bdf11727"
"""MinIO client, run once per ``up`` to create the stage's bucket and its app user."""

CADDY = "caddy:2@sha256:f2a1290d0463aad60660d4ec134943f183ee2a5f6c3eb7bf32dd984f2f020772"
"""Caddy 2: the reverse proxy that terminates TLS in front of the services."""


FILES = CADDY
"""The one-shot writer of files into volumes (components/docker/files.py): it needs a POSIX
shell, ``find``, ``cp`` and ``chown``, which the Alpine-based Caddy image has (busybox), and the
host pulls that image for the proxy anyway. Not PostgreSQL's: the policy pack takes a container
of a database image for a database server."""

NAMES: dict[str, str] = {
    **{f"postgres-{major}": f"PostgreSQL {major} server" for major in POSTGRES},
    "minio": "MinIO server (with mc, for its health check)",
    "mc": "MinIO client, the one-shot bucket setup",
    "caddy": "Caddy, the TLS proxy",
    "files": "a shell with coreutils, the one-shot file writer",
}
"""What a stack may pin in ``<project>:substrateImages`` on docker (substrate.py registers it)."""

_DEFAULTS: dict[str, str] = {
    **{f"postgres-{major}": ref for major, ref in POSTGRES.items()},
    "minio": MINIO,
    "mc": MINIO_CLIENT,
    "caddy": CADDY,
    "files": FILES,
}


def postgres(major: int) -> str | None:
    """The pinned PostgreSQL image for ``major``, or None when the substrate has none."""
    return POSTGRES.get(major)


def pinned(spec: StageSpec, name: str) -> str:
    """The image ``name`` runs on this stage: the stack's pin, else the shipped default."""
    return spec.substrate_images.get(name) or _DEFAULTS[name]
