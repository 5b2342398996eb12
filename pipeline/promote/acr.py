"""Copies into Azure Container Registry: ``az acr import`` (pipeline.promote.images chooses it
for an ``*.azurecr.*`` repository)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.promote.image_copy import CopyError, ImageCopy

# The release's registry credentials for ``az acr import`` (skopeo reads its own login file).
SOURCE_USERNAME = "STAGELINE_SOURCE_USERNAME"
SOURCE_PASSWORD = "STAGELINE_SOURCE_PASSWORD"

# Azure Container Registry login servers (public cloud, China, US Government).
ACR_SUFFIXES = (".azurecr.io", ".azurecr.cn", ".azurecr.us")


def is_acr(repository: str) -> bool:
    return repository.split("/", 1)[0].endswith(ACR_SUFFIXES)


@dataclass(frozen=True)
class AcrImport:
    """``az acr import``: the registry fetches the image itself (an Azure Resource Manager
    operation), so it works although the blueprint's registries have public network access off
    (their network rule set lets trusted Azure services through; docs/azure.md) and a CI runner
    could not push to them.

    The source is named by digest, and the import API copies that manifest ("specify an image by
    sha256-based manifest digest", ImportSource.sourceImage, ACR REST API "Registries - Import
    Image"). After the import the digest is read back with ``az acr repository show --image
    <repo>:<tag> --query digest`` (a data-plane read: it reaches the registry only from a runner
    its firewall admits) and a different digest is refused. When the registry refuses the read
    (public network access off: ACR answers ``denied: client with IP ... is not allowed
    access``), the line says the digest was not read back, and the check left is the registry's
    content addressing: the apps pull ``<registry>/<service>@<digest>``, which resolves only if a
    manifest with exactly those bytes is stored, so ``up`` fails otherwise. Credentials are az's
    own (``az login`` or the workflow's ``azure/login``); the registry fetches the source itself,
    so a private source registry's credentials go with the import (``--username``/``--password``,
    from :data:`SOURCE_USERNAME` and :data:`SOURCE_PASSWORD` in the environment when both are set:
    az takes the password only as an argument).
    """

    binary: str = "az"
    timeout: float = 900.0

    def _source_login(self) -> list[str]:
        username = os.environ.get(SOURCE_USERNAME, "")
        password = os.environ.get(SOURCE_PASSWORD, "")
        return ["--username", username, "--password", password] if username and password else []

    def present(self, image: ImageCopy) -> bool:
        return False  # not readable from outside the registry's network; the import is idempotent

    def _az(self, args: Sequence[str], what: str) -> subprocess.CompletedProcess[bytes]:
        if shutil.which(self.binary) is None:
            raise CopyError(f"{what}: the Azure CLI ({self.binary}) is not installed")
        try:
            return subprocess.run(
                [self.binary, *args], capture_output=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise CopyError(f"{what}: timed out after {self.timeout:.0f} s") from None

    def copy(self, image: ImageCopy) -> str:
        host, _, repository = image.repository.partition("/")
        name = host.split(".", 1)[0]
        what = f"az acr import {image.describe()}"
        done = self._az(
            [
                "acr", "import",
                "--name", name,
                "--source", image.source,
                "--image", f"{repository}:{image.tag}",
                "--force",  # the content-addressed tag may exist already, with these very bytes
                "--only-show-errors",
                *self._source_login(),
            ],
            what,
        )  # fmt: skip
        if done.returncode != 0:
            raise CopyError(f"{what}: {_last_line(done, 'import')}")
        return self.verify(image, name, repository)

    def verify(self, image: ImageCopy, name: str, repository: str) -> str:
        """The digest the registry now serves for the copy's tag, or a line saying it could not
        be read from here; a different digest raises CopyError."""
        what = f"az acr repository show {image.repository}:{image.tag}"
        shown = self._az(
            [
                "acr", "repository", "show",
                "--name", name,
                "--image", f"{repository}:{image.tag}",
                "--query", "digest",
                "--output", "tsv",
                "--only-show-errors",
            ],
            what,
        )  # fmt: skip
        if shown.returncode != 0:
            return (
                f"{image.digest} (imported; not read back from this runner:"
                f" {_last_line(shown, 'show')}; the apps pull it by digest)"
            )
        arrived = shown.stdout.decode(errors="replace").strip()
        if arrived != image.digest:
            raise CopyError(
                f"{image.describe()}: arrived as {arrived or 'nothing'}, not {image.digest};"
                " refusing it"
            )
        return arrived


def _last_line(done: subprocess.CompletedProcess[bytes], verb: str) -> str:
    detail = done.stderr.decode(errors="replace").strip().splitlines()
    return detail[-1] if detail else f"{verb} exit {done.returncode}"
