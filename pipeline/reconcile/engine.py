"""What reconcile asks of the engine: a refreshed preview, an ``up`` from a record, outputs.

``AutomationDrift`` is the real one (Pulumi's Automation API, the Pulumi CLI): each call runs in
the directory of the stage's record (a worktree of ``stages/<stack>``, whose stack file pins the
recorded release), so the comparison is with what the record says, not with the checkout.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from pipeline.promote.automation import PreviewRecorder
from pipeline.promote.deployer import Change, DeployError, PolicyOptions, StackBusyError
from pipeline.reconcile.strays import docker_cli, find_strays


class DriftEngine(Protocol):
    def drift(self, stack: str, source: Path) -> list[Change]:
        """Refresh from what runs and preview the record (``source``): every resource's op,
        and containers labelled as the stage's that the stack does not hold (op ``stray``)."""
        ...

    def heal(self, stack: str, source: Path, policy: PolicyOptions) -> None:
        """``up`` from the record with refresh and the policy pack."""
        ...

    def outputs(self, stack: str, source: Path) -> Mapping[str, Any]: ...


class AutomationDrift:
    """DriftEngine on ``pulumi.automation``."""

    def _stack(self, stack: str, source: Path) -> Any:
        from pulumi import automation as auto

        try:
            return auto.select_stack(stack_name=stack, work_dir=str(source))
        except auto.errors.CommandError as exc:
            raise DeployError(f"{stack}: cannot select the stack: {exc}") from None
        except FileNotFoundError as exc:
            raise DeployError(f"the Pulumi CLI is not installed ({exc})") from None

    @staticmethod
    def _call(stack: str, what: str, fn: Any, **kwargs: Any) -> Any:
        from pulumi import automation as auto

        try:
            return fn(**kwargs)
        except auto.errors.ConcurrentUpdateError as exc:
            raise StackBusyError(
                f"{stack}: {what}: another update holds the stack ({exc})"
            ) from None
        except auto.errors.CommandError as exc:
            raise DeployError(f"{stack}: {what} failed: {exc}") from None

    def drift(self, stack: str, source: Path) -> list[Change]:
        recorder = PreviewRecorder()
        handle = self._stack(stack, source)
        self._call(
            stack,
            "preview --refresh",
            handle.preview,
            refresh=True,
            diff=True,
            color="never",
            on_event=recorder,
        )
        exported = self._call(stack, "stack export", handle.export_stack)
        resources = list((exported.deployment or {}).get("resources") or [])
        return recorder.changes + find_strays(resources, docker_cli)

    def heal(self, stack: str, source: Path, policy: PolicyOptions) -> None:
        handle = self._stack(stack, source)
        args: dict[str, Any] = {"refresh": True, "color": "never"}
        if policy.pack is not None:
            args["policy_packs"] = [str(policy.pack)]
            if policy.config is not None:
                args["policy_pack_configs"] = [str(policy.config)]
        self._call(stack, "up --refresh", handle.up, **args)

    def outputs(self, stack: str, source: Path) -> Mapping[str, Any]:
        handle = self._stack(stack, source)
        values = self._call(stack, "outputs", handle.outputs)
        return {k: v.value for k, v in values.items()}
