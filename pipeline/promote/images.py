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
from dataclasses import dataclass, field
from typing import Any

from components.spec.model import repository_of
from pipeline.promote.acr import AcrImport, is_acr
from pipeline.promote.image_copy import Copier as Copier
from pipeline.promote.image_copy import CopyError as CopyError
from pipeline.promote.image_copy import ImageCopy as ImageCopy


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


@dataclass(frozen=True)
class StageRegistries:
    """The copier promotion uses: ``az acr import`` into Azure registries, skopeo elsewhere."""

    skopeo: Skopeo = Skopeo()
    acr: AcrImport = field(default_factory=AcrImport)

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
