"""Copy a release's images, byte for byte, into a stage's own registry before its preview.

Tasks pull from the stage's repositories (``repositoryUrls`` output), so each image the release
names (``repo@sha256:<digest>``) is copied there first with skopeo (``--all --preserve-digests``:
a multi-architecture index and its manifests keep their digests). A registry can push only by
tag, so the copy lands under the content-addressed tag ``sha256-<hex>`` (the cosign convention:
never reused for other bytes, so immutable-tag repositories such as the blueprint's ECR ones
accept it). After the copy the manifest is read back raw and its sha256 must be the release's
digest; otherwise the copy is refused (:class:`CopyError`) and nothing is previewed.

Credentials are skopeo's own (``REGISTRY_AUTH_FILE``, ``~/.docker/config.json``, or
``aws ecr get-login-password | skopeo login``); none pass through this module.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
        try:
            done = subprocess.run(
                [self.binary, *args], capture_output=True, timeout=self.timeout, check=False
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


def copy_release(copies: Sequence[ImageCopy], skopeo: Skopeo | None = None) -> list[str]:
    """Copy every image (in service order); the first failure stops with CopyError."""
    tool = skopeo or Skopeo()
    return [tool.copy(c) for c in copies]
