"""A cheap deterministic deployer with its state in one JSON file, faults on request, and a
health server that answers with the release each fake stack runs.

The file lets separate processes (the CLI, a promotion killed with SIGKILL, its resumption) share
one "cloud". Faults are keyed ``<stack>:<step>`` and fire once: ``error`` (the step raises
DeployError), ``busy`` (StackBusyError), ``crash`` (the step does its work, then the process
dies), ``beyond`` (the preview also replaces a database). ``wrong-version:<release>`` on
``verify`` makes the health path answer an old version while the stack runs that release.
"""

from __future__ import annotations

import fcntl
import http.server
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from components.spec import read_stack
from pipeline.definition import load_pipeline
from pipeline.promote.deployer import (
    Change,
    DeployError,
    PolicyOptions,
    PolicyResult,
    Preview,
    ReleaseConfig,
    StackBusyError,
)
from pipeline.promote.verification import VerifyResult

STATE_FILE = "fake-cloud.json"
PREFIX = "urn:pulumi:{stack}::stageline::stageline:aws:"


class SimulatedCrash(BaseException):
    """Stands for the process dying mid-step (not an Exception: nothing may catch it)."""


class FileDeployer:
    """The Deployer protocol over a JSON file; each stack runs a release config."""

    def __init__(
        self, stacks_dir: Path, state_dir: Path, health_url: str = "", step_delay: float = 0.0
    ) -> None:
        self.path = state_dir / STATE_FILE
        self.health_url = health_url
        self.step_delay = step_delay
        state_dir.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            definition = load_pipeline(stacks_dir)
            stacks = {}
            for _, stack in definition.stacks():
                values = read_stack(stacks_dir, stack).values
                config = {
                    "release": values["stageline:release"],
                    "images": json.loads(values["stageline:images"]),
                }
                stacks[stack] = {"config": config, "deployed": config, "pending": None}
            self._write({"stacks": stacks, "faults": {}, "calls": []})

    # state ---------------------------------------------------------------

    @contextmanager
    def _state(self) -> Iterator[dict[str, Any]]:
        with open(self.path.with_suffix(".lock"), "w") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)
            state = json.loads(self.path.read_text())
            try:
                yield state
            finally:  # a fault that fired is consumed even though its step raised
                self._write(state)

    def _write(self, state: dict[str, Any]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1))
        os.replace(tmp, self.path)

    def read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def set_fault(self, stack: str, step: str, fault: str | None) -> None:
        with self._state() as state:
            if fault is None:
                state["faults"].pop(f"{stack}:{step}", None)
            else:
                state["faults"][f"{stack}:{step}"] = fault

    def _fault(self, state: dict[str, Any], stack: str, step: str) -> str | None:
        state["calls"].append(f"{stack}:{step}")
        fault: str | None = state["faults"].pop(f"{stack}:{step}", None)
        if fault == "error":
            raise DeployError(f"{stack}: injected {step} error")
        if fault == "busy":
            raise StackBusyError(f"{stack}: the stack is locked by another update")
        return fault

    def _pause(self) -> None:
        if self.step_delay:
            time.sleep(self.step_delay)

    # Deployer ------------------------------------------------------------

    def set_images(self, stack: str, config: ReleaseConfig) -> ReleaseConfig:
        self._pause()
        with self._state() as state:
            fault = self._fault(state, stack, "set-images")
            entry = state["stacks"][stack]
            previous = ReleaseConfig(entry["config"]["release"], entry["config"]["images"])
            entry["config"] = {"release": config.release, "images": dict(config.images)}
        if fault == "crash":
            raise SimulatedCrash(stack)
        return previous

    def preview(self, stack: str, policy: PolicyOptions) -> Preview:
        self._pause()
        with self._state() as state:
            fault = self._fault(state, stack, "preview")
            entry = state["stacks"][stack]
            old, new = entry["deployed"], entry["config"]
            plan = f"plan-{stack}-{len(state['calls'])}"
            entry["plan"] = {"id": plan, "config": new}
        changes = []
        for service in sorted(new["images"]):
            before = {"inputs": {"image": old["images"][service], "env": old["release"]}}
            after = {"inputs": {"image": new["images"][service], "env": new["release"]}}
            urn = f"{PREFIX.format(stack=stack)}Services$aws:ecs/taskDefinition:TaskDefinition::"
            urn += f"{stack}-services-{service}-task"
            op = "same" if before == after else "update"
            changes.append(Change(urn, "aws:ecs/taskDefinition:TaskDefinition", op, before, after))
        if fault == "beyond":
            urn = f"{PREFIX.format(stack=stack)}Database$aws:rds/instance:Instance::"
            urn += f"{stack}-database-postgres"
            changes.append(
                Change(
                    urn,
                    "aws:rds/instance:Instance",
                    "replace",
                    {"inputs": {"engineVersion": "16"}},
                    {"inputs": {"engineVersion": "17"}},
                    ("inputs.engineVersion",),
                )
            )
        if fault == "crash":
            raise SimulatedCrash(stack)
        return Preview(changes, PolicyResult("passed"), plan)

    def up(self, stack: str, preview: Preview) -> None:
        self._pause()
        with self._state() as state:
            fault = self._fault(state, stack, "up")
            entry = state["stacks"][stack]
            if (entry.get("plan") or {}).get("id") != preview.plan:
                raise DeployError(f"{stack}: the saved plan {preview.plan} is not the latest")
            entry["pending"] = f"{stack}-services: update"
            entry["deployed"] = entry["plan"]["config"]
        if fault == "crash":
            raise SimulatedCrash(stack)  # dies with the operation still pending
        with self._state() as state:
            state["stacks"][stack]["pending"] = None

    def outputs(self, stack: str) -> Mapping[str, Any]:
        deployed = self.read()["stacks"][stack]["deployed"]
        services = sorted(deployed["images"])
        return {
            "stage": stack,
            "release": deployed["release"],
            "digests": {s: deployed["images"][s].rsplit("@", 1)[1] for s in services},
            "serviceUrl": f"{self.health_url}/{stack}/{services[0]}",
            "serviceUrls": {s: f"{self.health_url}/{stack}/{s}" for s in services},
            "healthPaths": {s: "/healthz" for s in services},
        }

    def pending_operations(self, stack: str) -> list[str]:
        pending = self.read()["stacks"][stack]["pending"]
        return [pending] if pending else []

    def use_source(self, stack: str, source: Callable[[], Path | None]) -> None:
        """Deploys the checkout it was given, whatever the release's commit."""

    # test helpers --------------------------------------------------------

    def runs(self, stack: str) -> str:
        release: str = self.read()["stacks"][stack]["deployed"]["release"]
        return release

    def answers_old_version(self, stack: str) -> bool:
        state = self.read()
        fault = state["faults"].get(f"{stack}:verify", "")
        return bool(fault == f"wrong-version:{state['stacks'][stack]['deployed']['release']}")


def state_verifier(deployer: FileDeployer) -> Any:
    """Verification by reading the fake cloud (for runs that need no HTTP server)."""

    def verify(stage: str, outputs: Mapping[str, Any], release: str) -> VerifyResult:
        if deployer.answers_old_version(stage):
            return VerifyResult(False, f"{stage} answers an old version")
        ok = outputs.get("release") == release
        return VerifyResult(ok, f"{stage} runs {outputs.get('release')}")

    return verify


def file_deployer(project_dir: Path, stacks_dir: Path, state_dir: Path) -> FileDeployer:
    """``--deployer tests.promote.fakes:file_deployer``: health URL, the cloud's directory (to
    share one fake cloud between clones) and a per-call delay from the environment."""
    return FileDeployer(
        stacks_dir,
        Path(os.environ.get("STAGELINE_FAKE_CLOUD", state_dir)),
        os.environ.get("STAGELINE_FAKE_HEALTH_URL", ""),
        float(os.environ.get("STAGELINE_FAKE_STEP_DELAY", "0")),
    )


class HealthServer:
    """A real local HTTP server: ``GET /<stack>/<service>/healthz`` answers the release the
    fake stack runs (or an old one when the stack's verify fault is ``wrong-version``)."""

    def __init__(self, deployer: FileDeployer | None = None) -> None:
        self.deployer = deployer
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                if len(parts) != 3 or parts[2] != "healthz" or owner.deployer is None:
                    self.send_response(404)
                    self.end_headers()
                    return
                stack = parts[0]
                version = owner.deployer.runs(stack)
                if owner.deployer.answers_old_version(stack):
                    version = "r-old"
                body = json.dumps({"version": version, "service": parts[1]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> HealthServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
