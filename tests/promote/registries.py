"""Real registries on loopback for the image-copy tests: Debian's docker-registry (the CNCF
distribution registry) processes, and a real one-layer image built as an OCI layout.

tools/image-tools.sh installs skopeo and docker-registry with apt-get when they are missing; if
they still cannot be had, callers skip with that reason (never pass).
"""

from __future__ import annotations

import contextlib
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

from tests.conftest import PROJECT_DIR


def missing_tools() -> str | None:
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """One docker-registry process with its own config, storage and port."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
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


@contextlib.contextmanager
def registry_pair(root: Path, what: str) -> Iterator[tuple[Registry, Registry]]:
    """Two real registries under ``root``: the release's and the stages'; skipped, saying ``what``
    did not run, when the tools cannot be had."""
    reason = missing_tools()
    if reason:
        pytest.skip(f"DID NOT RUN {what}: {reason}")
    source = Registry(root / "release")
    try:
        stages = Registry(root / "stages")
    except Exception:
        source.stop()
        raise
    try:
        yield source, stages
    finally:
        source.stop()
        stages.stop()


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


def push(layout: Path, reference: str) -> None:
    """Push the layout's image to ``host/repo:tag`` on a plain-http loopback registry."""
    subprocess.run(
        [
            "skopeo",
            "copy",
            "--preserve-digests",
            "--dest-tls-verify=false",
            f"oci:{layout}:seed",
            f"docker://{reference}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


def serves(host: str, repository: str, digest: str) -> bool:
    """Whether the registry serves ``repository@digest`` with exactly those bytes."""
    request = urllib.request.Request(
        f"http://{host}/v2/{repository}/manifests/{digest}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
    except OSError:
        return False
    return "sha256:" + hashlib.sha256(body).hexdigest() == digest
