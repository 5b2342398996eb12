"""Copy a release's images, byte for byte, into a stage's own registry before its preview.

Tasks pull from the stage's repositories (``repositoryUrls`` output), so each image the release
names (``repo@sha256:<digest>``) is copied there first with skopeo (``--all --preserve-digests``:
a multi-architecture index and its manifests keep their digests). A registry can push only by
tag, so the copy lands under the content-addressed tag ``sha256-<hex>`` (the cosign convention:
never reused for other bytes, so immutable-tag repositories such as the blueprint's ECR ones
accept it). After the copy the manifest is read back raw and its sha256 must be the release's
digest; otherwise the copy is refused (:class:`CopyError`) and nothing is previewed.

Credentials and registry settings are skopeo's own, from the environment: ``REGISTRY_AUTH_FILE``
(or ``~/.docker/config.json``, or what ``aws ecr get-login-password | skopeo login`` wrote) and
``CONTAINERS_REGISTRIES_CONF`` (e.g. a registry marked ``insecure``); none pass through this
module. Promotion runs :func:`copy_to_stage` before each stage's preview (pipeline.promote.
orchestrator), with the repositories read from the stage's ``repositoryUrls`` output.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from components.spec.model import digest_of, repository_of


class CopyError(Exception):
    """A copy failed or arrived with another digest; the message names the image."""


@dataclass(frozen=True)
class ImageCopy:
    """One service's image: from where the release names it to the stage's repository."""

    service: str
    source: str
    """``repo@sha256:<hex>``, as the release names it."""
    repository: str
    """The stage's repository for the service (host/path, no tag or digest)."""

    @property
    def digest(self) -> str:
        return digest_of(self.source)

    @property
    def tag(self) -> str:
        return self.digest.replace(":", "-")

    @property
    def destination(self) -> str:
        """Where tasks pull it from afterwards: the stage's repository, by the same digest."""
        return f"{self.repository}@{self.digest}"

    def describe(self) -> str:
        return f"{self.service}: {self.source} -> {self.repository}:{self.tag}"


def plan_copies(images: Mapping[str, str], repository_urls: Mapping[str, str]) -> list[ImageCopy]:
    """The copies a stage needs: every service whose image is not already in its repository."""
    copies = []
    for service, image in sorted(images.items()):
        repository = repository_urls.get(service)
        if not repository or repository_of(image) == repository:
            continue  # no repository of its own (local stage), or already pulled from there
        copies.append(ImageCopy(service, image, repository))
    return copies


def stage_copies(images: Mapping[str, str], outputs: Mapping[str, Any]) -> list[ImageCopy] | None:
    """The copies a stage needs, from its stack outputs; None when the stack reports no
    ``repositoryUrls`` at all (never deployed, or a deployer without registries).

    Raises CopyError when the stage has repositories but none for one of the release's services
    (a service new in this release): its tasks could not pull, so the registry must come first.
    """
    urls = outputs.get("repositoryUrls")
    if not isinstance(urls, Mapping):
        return None
    missing = sorted(set(images) - set(urls))
    if missing:
        raise CopyError(
            f"no repository for {', '.join(missing)} in the stage's repositoryUrls output;"
            " create it first (pulumi up --target the Registry component, see README)"
        )
    return plan_copies(images, {str(k): str(v) for k, v in urls.items()})


class Copier(Protocol):
    """What copies one image into a stage's registry (:class:`Skopeo`)."""

    def present(self, image: ImageCopy) -> bool:
        """Whether the stage's repository already serves the image by its digest."""
        ...

    def copy(self, image: ImageCopy) -> str:
        """Copy it and check its digest on arrival; raise CopyError otherwise."""
        ...


@dataclass(frozen=True)
class Skopeo:
    """How to run skopeo; ``tls_verify=False`` only for loopback test registries (plain http)."""

    binary: str = "skopeo"
    tls_verify: bool = True
    timeout: float = 600.0

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def _run(self, args: Sequence[str], what: str) -> bytes:
        if not self.available():
            raise CopyError(f"{what}: skopeo not found ({self.binary}); install it (make tools)")
        # Older skopeo (Debian 12's 1.9) reads only /etc/containers/registries.conf; newer ones
        # also honour CONTAINERS_REGISTRIES_CONF themselves. Passing it makes both agree.
        conf = os.environ.get("CONTAINERS_REGISTRIES_CONF")
        options = [f"--registries-conf={conf}"] if conf else []
        try:
            done = subprocess.run(
                [self.binary, *options, *args],
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CopyError(f"{what}: skopeo timed out after {self.timeout:.0f} s") from None
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()
            raise CopyError(f"{what}: {detail[-1] if detail else f'exit {done.returncode}'}")
        return done.stdout

    def _tls(self, flag: str) -> list[str]:
        return [] if self.tls_verify else [f"--{flag}=false"]

    def copy(self, image: ImageCopy) -> str:
        """Copy one image and check it arrived with its digest; return the digest."""
        self._run(
            [
                "copy",
                "--all",
                "--preserve-digests",
                "--retry-times=3",
                *self._tls("src-tls-verify"),
                *self._tls("dest-tls-verify"),
                f"docker://{image.source}",
                f"docker://{image.repository}:{image.tag}",
            ],
            f"copy {image.describe()}",
        )
        return self.verify(image)

    def present(self, image: ImageCopy) -> bool:
        """Whether ``repository@digest`` already resolves there to the same bytes (a resumed or
        rolled-back promotion, or a release already copied): then nothing is pushed, which an
        immutable-tag repository would refuse for an existing tag anyway."""
        try:
            raw = self._run(
                ["inspect", "--raw", *self._tls("tls-verify"), f"docker://{image.destination}"],
                f"inspect {image.destination}",
            )
        except CopyError:
            return False  # not there (or not readable): the copy says which
        return "sha256:" + hashlib.sha256(raw).hexdigest() == image.digest

    def verify(self, image: ImageCopy) -> str:
        """The digest the stage's repository now serves for the copy's tag, if it is the release's.

        The raw manifest's sha256 is the digest (OCI image spec, "Digests"), so this reads what
        the registry stores rather than trusting a header.
        """
        raw = self._run(
            [
                "inspect",
                "--raw",
                *self._tls("tls-verify"),
                f"docker://{image.repository}:{image.tag}",
            ],
            f"inspect {image.repository}:{image.tag}",
        )
        arrived = "sha256:" + hashlib.sha256(raw).hexdigest()
        if arrived != image.digest:
            raise CopyError(
                f"{image.describe()}: arrived as {arrived}, not {image.digest}; refusing it"
            )
        return arrived


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


@dataclass(frozen=True)
class StageRegistries:
    """The copier promotion uses: ``az acr import`` into Azure registries, skopeo elsewhere."""

    skopeo: Skopeo = Skopeo()
    acr: AcrImport = AcrImport()

    def _for(self, image: ImageCopy) -> Copier:
        return self.acr if is_acr(image.repository) else self.skopeo

    def present(self, image: ImageCopy) -> bool:
        return self._for(image).present(image)

    def copy(self, image: ImageCopy) -> str:
        return self._for(image).copy(image)


def copy_to_stage(
    copies: Sequence[ImageCopy], copier: Copier, progress: Callable[[str], None]
) -> list[str]:
    """Make every copy a stage needs (in service order), skipping those already there; say
    each one through ``progress``. The first failure stops with CopyError; return the lines."""
    said = []
    for image in copies:
        if copier.present(image):
            line = f"{image.service}: {image.destination} already there"
        else:
            progress(f"{image.service}: copying {image.source} -> {image.repository}:{image.tag}")
            line = f"{image.service}: copied, arrived as {copier.copy(image)}"
        progress(line)
        said.append(line)
    return said


def copy_release(copies: Sequence[ImageCopy], skopeo: Skopeo | None = None) -> list[str]:
    """Copy every image (in service order); the first failure stops with CopyError."""
    tool = skopeo or Skopeo()
    return [tool.copy(c) for c in copies]
