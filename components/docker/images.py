"""Images of the Docker substrate's own infrastructure, each pinned by digest (never a tag).

No registry can be reached from the machine these were written on, so every digest below was
taken from public, digest-pinned references to the image and NOT checked against its registry.
``VERIFY_BEFORE_UP`` says so in code; docs/local.md explains how to check and refresh them
(``docker buildx imagetools inspect <image>``). The tag in each reference is for people: Docker
pulls by the digest alone.
"""

from __future__ import annotations

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


def postgres(major: int) -> str | None:
    """The pinned PostgreSQL image for ``major``, or None when the substrate has none."""
    return POSTGRES.get(major)
