"""The image copy against two real registries on loopback (Debian's docker-registry).

The test builds a real image as an OCI layout, pushes it to the first registry with skopeo,
copies it by digest into the second (the stage's), and compares digests. tools/image-tools.sh
installs skopeo and docker-registry with apt-get when they are missing; if they still cannot be
had, the tests are skipped with that reason (never passed).
"""

from __future__ import annotations

import hashlib
import urllib.request
from collections.abc import Iterator

import pytest

from pipeline.promote.images import CopyError, ImageCopy, Skopeo, copy_release, plan_copies
from tests.promote.registries import Registry, oci_layout, push, registry_pair

LOCAL = Skopeo(tls_verify=False)  # the loopback registries speak plain http


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, Registry]]:
    with registry_pair(tmp_path_factory.mktemp("registries"), "the registry round trip") as pair:
        yield pair


@pytest.fixture(scope="module")
def released(
    registries: tuple[Registry, Registry], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The release's image: built here, pushed to the first registry, named by digest."""
    first, _ = registries
    layout = tmp_path_factory.mktemp("image") / "layout"
    digest = oci_layout(layout, b"release r-1\n")
    push(layout, f"{first.host}/team/api:seed")
    return f"{first.host}/team/api@{digest}"


def test_release_image_reaches_the_stage_registry_by_digest(
    registries: tuple[Registry, Registry], released: str
) -> None:
    _, stage = registries
    copies = plan_copies({"api": released}, {"api": f"{stage.host}/dev-registry-api"})
    assert [c.destination for c in copies] == [
        f"{stage.host}/dev-registry-api@{released.rsplit('@', 1)[1]}"
    ]
    assert copy_release(copies, LOCAL) == [copies[0].digest]
    # The stage's registry serves the manifest by the release's digest itself, too.
    url = f"http://{stage.host}/v2/dev-registry-api/manifests/{copies[0].digest}"
    request = urllib.request.Request(
        url, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read()
    assert "sha256:" + hashlib.sha256(body).hexdigest() == copies[0].digest


def test_a_digest_that_does_not_arrive_is_refused(
    registries: tuple[Registry, Registry], released: str
) -> None:
    _, stage = registries
    good = plan_copies({"api": released}, {"api": f"{stage.host}/refused-api"})[0]
    LOCAL.copy(good)
    # The stage's tag holds the real image; a copy claiming other bytes for it is refused.
    with pytest.raises(CopyError, match="refusing it"):
        LOCAL.verify(_claiming(good, "sha256:" + "f" * 64))
    # A source digest the first registry does not hold fails the copy itself.
    missing = ImageCopy("api", released.rsplit("@", 1)[0] + "@sha256:" + "0" * 64, good.repository)
    with pytest.raises(CopyError, match="copy api"):
        LOCAL.copy(missing)


def _claiming(copy: ImageCopy, digest: str) -> ImageCopy:
    """The same tag as ``copy``, but expecting ``digest`` to arrive."""

    class Claiming(ImageCopy):
        @property
        def digest(self) -> str:
            return digest

        @property
        def tag(self) -> str:
            return copy.tag

    return Claiming(copy.service, copy.source, copy.repository)


def test_stages_pulling_from_the_release_registry_need_no_copy() -> None:
    image = "ghcr.io/o/api@sha256:" + "a" * 64
    assert plan_copies({"api": image}, {"api": "ghcr.io/o/api"}) == []
    assert plan_copies({"api": image}, {}) == []
