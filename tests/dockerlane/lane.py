"""What the docker lane needs, found or built: a Docker engine and a registry on loopback
(tools/docker/host.sh), the local stage's images pinned by digest (tools/images/build.sh), the
docker provider built from source (tools/docker-provider/build.sh), our own random and tls
providers (tools/providers), and the engine (tools/engine). Each piece says why when it cannot be
had, and the lane is skipped with that reason in a box (``make docker-lane``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.client import HTTPSConnection
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "standin"))

from sandbox import Sandbox, engine_bin  # noqa: E402

from components import project  # noqa: E402
from tools.demo.local_pipeline import LocalPipeline  # noqa: E402
from tools.providers.install import install_into  # noqa: E402

HOST = ROOT / "tools" / "docker" / "host.sh"
IMAGES = ROOT / "tools" / "images" / "build.sh"
PROVIDER = ROOT / "tools" / "docker-provider" / "build.sh"
STACK = "local"


class LaneUnavailableError(RuntimeError):
    """A piece of the lane cannot be had on this machine; the message says which and why."""


def _run(cmd: list[str], what: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise LaneUnavailableError(f"{what} failed (exit {out.returncode}): {out.stderr[-1500:]}")
    return out.stdout


def host_env() -> dict[str, str]:
    """Start (or find) the engine and registry; the environment that reaches them."""
    _run([str(HOST), "start"], "tools/docker/host.sh start")
    exports = _run([str(HOST), "env"], "tools/docker/host.sh env")
    env = dict(os.environ)
    for line in exports.splitlines():
        line = line.strip().removeprefix("export ")
        if "=" in line:
            key, _, value = line.partition("=")
            env[key] = value.strip("'\"")
    return env


def build_images(env: dict[str, str]) -> dict[str, str]:
    """Image name -> ``127.0.0.1:PORT/repo@sha256:...`` for everything the stage runs."""
    return dict(json.loads(_run([str(IMAGES)], "tools/images/build.sh", env)))


def provider_binary() -> Path:
    out = _run([str(PROVIDER)], "tools/docker-provider/build.sh")
    return Path(out.strip().splitlines()[-1]) / "pulumi-resource-docker"


def docker(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=300)
    if check and out.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return out


@dataclass
class Lane:
    """A sandboxed project copy deploying the local stage for real."""

    sandbox: Sandbox
    env: dict[str, str]
    images: dict[str, str]

    @classmethod
    def create(cls, tmp: Path) -> Lane:
        env = host_env()
        images = build_images(env)
        real = {"docker": provider_binary()}
        sandbox = Sandbox.create(ROOT, tmp, engine_bin(), real=real)
        install_into(sandbox)
        sandbox.env.update({k: v for k, v in env.items() if k.startswith("DOCKER")})
        return cls(sandbox, env, images)

    def pulumi(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.sandbox.pulumi(*args, stack=STACK, check=check, timeout=900)

    def configure(self, release: str, app: str) -> None:
        """Pin the stage's images: the substrate's from the lane's build, each service's app."""
        name = project.name()
        path = self.sandbox.project / "stacks" / f"Pulumi.{STACK}.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["config"].update(
            {
                f"{name}:release": release,
                f"{name}:substrateImages": {
                    key: self.images[key]
                    for key in ("postgres-16", "minio", "mc", "caddy", "files")
                },
                f"{name}:images": {"api": self.images[app], "web": self.images[app]},
            }
        )
        path.write_text(yaml.safe_dump(doc, sort_keys=False))

    def outputs(self) -> dict[str, Any]:
        return dict(json.loads(self.pulumi("stack", "output", "--json").stdout))

    def state(self) -> list[dict[str, Any]]:
        """The stack's resources with their outputs, secrets shown (the lane's own stack)."""
        out = self.pulumi("stack", "export", "--show-secrets")
        return list(_revealed(json.loads(out.stdout)["deployment"]["resources"]))

    def resource(self, type_token: str, suffix: str) -> dict[str, Any]:
        found = [r for r in self.state() if r["type"] == type_token and r["urn"].endswith(suffix)]
        assert len(found) == 1, [r["urn"] for r in found]
        return found[0]

    def ca_pem(self) -> str:
        return str(
            self.resource("tls:index/selfSignedCert:SelfSignedCert", "-ca")["outputs"]["certPem"]
        )

    def labelled(self, kind: str) -> list[str]:
        """Ids of this stage's containers, networks or volumes (by the stage's labels)."""
        filters = ["--filter", f"label=project={project.name()}", "--filter", "label=stage=local"]
        if kind == "container":
            args = ["ps", "-a", "-q", "--no-trunc", *filters]
        else:
            args = [kind, "ls", "-q", *filters]
        return docker(self.env, *args).stdout.split()


SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")
"""A secret in an exported deployment (sdk/go/common/resource/sig): ``plaintext`` is its JSON."""


def _revealed(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG[0]) == SECRET_SIG[1]:
            return json.loads(value["plaintext"])
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def https_get(host: str, port: int, path: str, ca_pem: str) -> tuple[int, str]:
    """GET over TLS to 127.0.0.1:port, naming ``host`` (SNI, Host) and trusting only the CA."""
    context = ssl.create_default_context(cadata=ca_pem)

    class Loopback(HTTPSConnection):
        def connect(self) -> None:
            raw = socket.create_connection(("127.0.0.1", port), timeout=10)
            self.sock = context.wrap_socket(raw, server_hostname=host)

    connection = Loopback(host, port, context=context, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(2)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")


def docker_cli_present() -> bool:
    return shutil.which("docker") is not None


def lane_or_skip(tmp: Path) -> Lane:
    """The lane, or the test skipped with why (failed instead under
    ``STAGELINE_DOCKER_LANE_REQUIRED``, as ``make docker-lane`` sets it)."""
    try:
        return Lane.create(tmp)
    except LaneUnavailableError as exc:
        if os.environ.get("STAGELINE_DOCKER_LANE_REQUIRED"):
            pytest.fail(f"DOCKER LANE FAILED: {exc}")
        pytest.skip(f"DOCKER LANE NOT RUN: {exc}")


@contextmanager
def stages_up(
    tmp: Path, stacks: Sequence[str], what: str, extra: Sequence[str] = ()
) -> Iterator[LocalPipeline]:
    """A local pipeline whose ``stacks`` were brought up with a bare ``pulumi up``; afterwards
    every stage is torn down (and whatever carries the labels of the ``extra`` stacks, e.g.
    review stages a failed test left), its timings printed as ``what``, and nothing may be left.
    """
    pipeline = LocalPipeline.create(lane_or_skip(tmp), tmp)
    try:
        for stack in stacks:
            out = pipeline.up(stack)
            assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        yield pipeline
    finally:
        left = pipeline.teardown()
        for stack in extra:
            for kind in ("container", "volume", "network"):
                found = pipeline.labelled(stack, kind)
                if found:
                    rm = ["rm", "-f"] if kind == "container" else [kind, "rm"]
                    pipeline.docker(*rm, *found)
                    left.append(f"{stack}: {kind}s {' '.join(found)}")
        print(f"\n{what} timings (s):", json.dumps(pipeline.timings, indent=1))
        assert not left, left
