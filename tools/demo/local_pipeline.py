"""The local pipeline on this machine: the four ``local-*`` stacks (``pipelines.docker``) on one
Docker engine, in a copy of the project that is a clone of a bare git repository (the remote that
holds the ledger and each stage's record), driven by the project's own CLI as a user would.

Used by ``make demo`` (tools/demo/demo.py) and the docker lane's promotion test. The machine's
pieces are the docker lane's: the engine and the docker provider built from source, our random
and tls providers, images built here and pulled by digest from a registry on 127.0.0.1. What the
copy adds to the shipped stack files is what a machine-specific install must: the substrate's
images and the first app image by this machine's digests, and the passphrase salt ``pulumi stack
init`` writes; that is committed and pushed as main, so every release names a commit the remote
has.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from components import project

STAGES = ("local-dev", "local-test", "local-staging", "local-live")
SUBSTRATE = ("postgres-16", "minio", "mc", "caddy", "files")
IDENTITY = {
    "GIT_AUTHOR_NAME": "Local Pipeline",
    "GIT_AUTHOR_EMAIL": "pipeline@example.com",
    "GIT_COMMITTER_NAME": "Local Pipeline",
    "GIT_COMMITTER_EMAIL": "pipeline@example.com",
}


class Sandbox(Protocol):
    """A project copy, the directory of the Pulumi CLI, and the environment that runs it."""

    @property
    def project(self) -> Path: ...
    @property
    def bin(self) -> Path: ...
    @property
    def env(self) -> dict[str, str]: ...
    def init(self, stack: str) -> None: ...


class Machine(Protocol):
    """What the docker lane builds: a sandbox (engine, plugins, backend), the Docker engine's
    environment, and image name -> ``127.0.0.1:PORT/repo@sha256:...``."""

    @property
    def sandbox(self) -> Sandbox: ...
    @property
    def env(self) -> dict[str, str]: ...
    @property
    def images(self) -> dict[str, str]: ...


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **IDENTITY},
    )
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


@dataclass(frozen=True)
class Result:
    """One CLI run: exit code, its JSON Lines events (with --json), its output."""

    code: int
    events: list[dict[str, Any]]
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        found = [e for e in self.events if e.get("event") == "result"]
        if not found:
            raise AssertionError(f"no result event: {self.describe()}")
        return found[-1]

    def describe(self) -> str:
        return f"exit {self.code}\n{self.stdout[-4000:]}\n{self.stderr[-3000:]}"


@dataclass
class LocalPipeline:
    """The project copy as a clone of ``remote``, and the CLI and engine run in it."""

    machine: Machine
    remote: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def project(self) -> Path:
        return self.machine.sandbox.project

    @property
    def env(self) -> dict[str, str]:
        docker = {k: v for k, v in self.machine.env.items() if k.startswith("DOCKER")}
        return {**self.machine.sandbox.env, **docker, **IDENTITY, "PYTHONUNBUFFERED": "1"}

    @classmethod
    def create(cls, machine: Machine, where: Path) -> LocalPipeline:
        pipeline = cls(machine, where / "remote.git")
        for stack in STAGES:
            machine.sandbox.init(stack)  # writes the passphrase salt into the stack file
            pipeline.pin(stack)
        project_dir = pipeline.project
        git(project_dir, "init", "-q", "-b", "main")
        git(project_dir, "add", "-A")
        git(project_dir, "commit", "-q", "-m", "the project, pinned to this machine's images")
        git(where, "init", "-q", "--bare", "-b", "main", str(pipeline.remote))
        git(project_dir, "remote", "add", "origin", str(pipeline.remote))
        git(project_dir, "push", "-q", "origin", "main")
        return pipeline

    def pin(self, stack: str) -> None:
        """The substrate's images and the bootstrap app image, by this machine's digests."""
        name = project.name()
        images = self.machine.images
        path = self.project / "stacks" / f"Pulumi.{stack}.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["config"][f"{name}:substrateImages"] = {k: images[k] for k in SUBSTRATE}
        doc["config"][f"{name}:images"] = {s: images["app"] for s in ("api", "web")}
        path.write_text(yaml.safe_dump(doc, sort_keys=False))

    def up(self, stack: str) -> subprocess.CompletedProcess[str]:
        """A bare ``pulumi up`` of the stack as committed (bringing a stage up)."""
        started = time.monotonic()
        out = self.pulumi(stack, "up", "--yes", "--skip-preview")
        self.timed(f"up {stack}", started)
        return out

    def timed(self, what: str, started: float) -> None:
        """Record how long ``what`` took (a repeated command gets #2, #3 ...)."""
        key, count = what, 1
        while key in self.timings:
            count += 1
            key = f"{what} #{count}"
        self.timings[key] = round(time.monotonic() - started, 1)

    def pulumi(
        self, stack: str, *args: str, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        pulumi = str(self.machine.sandbox.bin / "pulumi")
        return subprocess.run(
            [pulumi, *args, "--non-interactive", "--stack", stack],
            cwd=cwd or self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
        )

    def command(self, *args: str) -> list[str]:
        return [str(self.project / ".venv" / "bin" / "python"), "-m", "pipeline", *args]

    def cli(self, *args: str, cwd: Path | None = None, timeout: float = 1800) -> Result:
        """``python -m pipeline ARGS --json`` in the project copy (or ``cwd``)."""
        started = time.monotonic()
        out = subprocess.run(
            self.command(*args, "--json"),
            cwd=cwd or self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.timed(" ".join(args[:4]), started)
        events = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        return Result(out.returncode, events, out.stdout, out.stderr)

    def release(self, image: str) -> str:
        """``release create`` with both services on one of the machine's app images."""
        ref = self.machine.images[image]
        out = self.cli("release", "create", "--image", f"api={ref}", "--image", f"web={ref}")
        if out.code != 0:
            raise RuntimeError(f"release create failed: {out.describe()}")
        return str(out.result["release"])

    def outputs(self, stack: str) -> dict[str, Any]:
        out = self.pulumi(stack, "stack", "output", "--json", "--show-secrets")
        if out.returncode != 0:
            raise RuntimeError(f"{stack}: stack output: {out.stderr.strip()}")
        return dict(json.loads(out.stdout))

    def ids(self, stack: str, *types: str) -> dict[str, str]:
        """URN -> provider id of the stack's resources of these types."""
        out = self.pulumi(stack, "stack", "export")
        if out.returncode != 0:
            raise RuntimeError(f"{stack}: stack export: {out.stderr.strip()}")
        resources = json.loads(out.stdout)["deployment"]["resources"]
        return {r["urn"]: r["id"] for r in resources if r["type"] in types}

    def docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["docker", *args], capture_output=True, text=True, env=self.env, timeout=300
        )

    def labelled(self, stack: str, kind: str) -> list[str]:
        """Ids of a stage's containers, networks or volumes, by its labels."""
        stage = stack.removeprefix("local-")
        filters = ["--filter", f"label=project={project.name()}"]
        filters += ["--filter", f"label=stage={stage}"]
        args = ["ps", "-a", "-q", *filters] if kind == "container" else [kind, "ls", "-q", *filters]
        return self.docker(*args).stdout.split()

    def clone(self, where: Path) -> Path:
        git(where.parent, "clone", "-q", str(self.remote), str(where))
        (where / ".venv").symlink_to((self.project / ".venv").resolve())
        return where

    def teardown(self) -> list[str]:
        """Destroy every stage, then remove by its labels what live's deletion protection kept
        (``retainOnDelete``); returns what could not be removed."""
        left = []
        for stack in reversed(STAGES):
            # live's kept database container is still attached to the stage's network, which
            # Docker then refuses to remove: destroy stops there until it is gone.
            destroyed = self.pulumi(stack, "destroy", "--yes", "--skip-preview").returncode == 0
            for kind in ("container", "volume", "network"):
                found = self.labelled(stack, kind)
                if found:
                    rm = ["rm", "-f"] if kind == "container" else [kind, "rm"]
                    if self.docker(*rm, *found).returncode != 0:
                        left.append(f"{stack}: {kind}s {' '.join(found)}")
            if not destroyed:
                out = self.pulumi(stack, "destroy", "--yes", "--skip-preview")
                if out.returncode != 0:
                    left.append(f"{stack}: destroy exited {out.returncode}: {out.stderr[-300:]}")
        return left
