"""One image copy into a stage's registry, and what makes one (pipeline.promote.images: skopeo;
pipeline.promote.acr: ``az acr import``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from components.spec.model import digest_of


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


class Copier(Protocol):
    """What copies one image into a stage's registry (:class:`Skopeo`)."""

    def present(self, image: ImageCopy) -> bool:
        """Whether the stage's repository already serves the image by its digest."""
        ...

    def copy(self, image: ImageCopy) -> str:
        """Copy it and check its digest on arrival; raise CopyError otherwise."""
        ...
