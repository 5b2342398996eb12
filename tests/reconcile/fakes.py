"""A drift engine over a JSON file: which stacks drifted (and how), what heals fail, and every
call made, so the CLI in process and the test share one "cloud"."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeline.promote.deployer import Change, DeployError, PolicyOptions

FILE = "fake-drift.json"
URN = "urn:pulumi:{stack}::project::docker:index/container:Container::{stack}-api"


class FileDrift:
    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            self._write({"drifted": {}, "faults": {}, "calls": [], "outputs": {}})

    def _read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text())
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.path.write_text(json.dumps(data))

    def drift_out_of_band(self, stack: str, op: str = "create") -> None:
        data = self._read()
        data["drifted"][stack] = op
        self._write(data)

    def fault(self, stack: str, what: str) -> None:
        data = self._read()
        data["faults"][stack] = what
        self._write(data)

    def calls(self) -> list[list[str]]:
        calls: list[list[str]] = self._read()["calls"]
        return calls

    def _call(self, *call: str) -> dict[str, Any]:
        data = self._read()
        data["calls"].append(list(call))
        self._write(data)
        return data

    def drift(self, stack: str, source: Path) -> list[Change]:
        data = self._call("drift", stack, str(source))
        if data["faults"].get(stack) == "preview":
            raise DeployError(f"{stack}: preview --refresh failed: engine exploded")
        urn = URN.format(stack=stack)
        op = data["drifted"].get(stack)
        same = Change(urn.replace("-api", "-web"), "docker:index/container:Container", "same")
        refresh = Change(urn, "docker:index/container:Container", "refresh")
        if op is None:
            return [refresh, same]
        return [refresh, same, Change(urn, "docker:index/container:Container", op)]

    def heal(self, stack: str, source: Path, policy: PolicyOptions) -> None:
        data = self._call("heal", stack, str(policy.pack))
        if data["faults"].get(stack) == "heal":
            raise DeployError(f"{stack}: up --refresh failed: port already allocated")
        if data["faults"].get(stack) != "sticky":
            data["drifted"].pop(stack, None)
        self._write(data)

    def set_outputs(self, stack: str, outputs: Mapping[str, Any]) -> None:
        data = self._read()
        data["outputs"][stack] = dict(outputs)
        self._write(data)

    def outputs(self, stack: str, source: Path) -> Mapping[str, Any]:
        found: dict[str, Any] = self._read()["outputs"].get(stack, {})
        return found


def engine(project_dir: Path, stacks_dir: Path, state_dir: Path | None) -> FileDrift:
    assert state_dir is not None
    return FileDrift(state_dir / FILE)


def git_engine(project_dir: Path, stacks_dir: Path, state_dir: Path | None) -> FileDrift:
    """The same fake for a git state (no state directory): the file STAGELINE_FAKE_DRIFT names."""
    return FileDrift(Path(os.environ["STAGELINE_FAKE_DRIFT"]))
