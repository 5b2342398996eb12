"""The image copy against two real registries on loopback (Debian's docker-registry).

The test builds a real image as an OCI layout, pushes it to the first registry with skopeo,
copies it by digest into the second (the stage's), and compares digests. tools/image-tools.sh
installs skopeo and docker-registry with apt-get when they are missing; if they still cannot be
had, the tests are skipped with that reason (never passed).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.promote.images import CopyError, ImageCopy, Skopeo, copy_release, plan_copies
from tests.conftest import PROJECT_DIR

LOCAL = Skopeo(tls_verify=False)  # the loopback registries speak plain http


def _tools() -> str | None:
    """Why the tools cannot be had, or None once skopeo and docker-registry are on PATH."""
    if not (shutil.which("skopeo") and shutil.which("docker-registry")):
        done = subprocess.run(
            ["sh", str(PROJECT_DIR / "tools" / "image-tools.sh")],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            return f"skopeo/docker-registry could not be installed: {done.stderr.strip()[-300:]}"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """One docker-registry process with its own config, storage and port."""

    def __init__(self, root: Path) -> None:
        self.port = _free_port()
        root.mkdir(parents=True)
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: warn}\n"
            f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}}}\n"
            f"http: {{addr: '127.0.0.1:{self.port}'}}\n",
            encoding="utf-8",
        )
        self.log = (root / "registry.log").open("wb")
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"registry on {self.host} did not start: see {root}")
            time.sleep(0.1)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, Registry]]:
    reason = _tools()
    if reason:
        pytest.skip(f"DID NOT RUN the registry round trip: {reason}")
    root = tmp_path_factory.mktemp("registries")
    first = Registry(root / "release")
    try:
        second = Registry(root / "stage")
    except Exception:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


def _blob(layout: Path, data: bytes) -> dict[str, object]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def oci_layout(path: Path, content: bytes) -> str:
    """A one-layer image as an OCI image layout; returns its manifest digest."""
    (path / "blobs" / "sha256").mkdir(parents=True)
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        info = tarfile.TarInfo("release.txt")
        info.size, info.mtime = len(content), 0
        tar.addfile(info, io.BytesIO(content))
    layer = gzip.compress(tar_bytes.getvalue(), mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/true"]},
            "rootfs": {
                "type": "layers",
                "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes.getvalue()).hexdigest()],
            },
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                **_blob(path, config),
            },
            "layers": [
                {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **_blob(path, layer)}
            ],
        },
        sort_keys=True,
    ).encode()
    entry = _blob(path, manifest)
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}', encoding="utf-8")
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **entry,
                "annotations": {"org.opencontainers.image.ref.name": "seed"},
            }
        ],
    }
    (path / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return str(entry["digest"])


@pytest.fixture(scope="module")
def released(
    registries: tuple[Registry, Registry], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The release's image: built here, pushed to the first registry, named by digest."""
    first, _ = registries
    layout = tmp_path_factory.mktemp("image") / "layout"
    digest = oci_layout(layout, b"release r-1\n")
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            f"oci:{layout}:seed",
            f"docker://{first.host}/team/api:seed",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
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
