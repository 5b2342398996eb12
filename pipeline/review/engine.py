"""The engine side of review stages (Pulumi's Automation API): up, outputs, destroy, list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pipeline.promote.deployer import DeployError, PolicyOptions


@dataclass(frozen=True)
class Summary:
    stack: str
    last_update: datetime | None


class AutomationReview:
    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        from pulumi import automation as auto

        try:
            return fn(**kwargs)
        except auto.errors.CommandError as exc:
            raise DeployError(f"{what} failed: {exc}") from None
        except FileNotFoundError as exc:
            raise DeployError(f"the Pulumi CLI is not installed ({exc})") from None

    def up(self, stack: str, source: Path, policy: PolicyOptions) -> Mapping[str, Any]:
        from pulumi import automation as auto

        handle = self._call(
            f"{stack}: stack init",
            auto.create_or_select_stack,
            stack_name=stack,
            work_dir=str(source),
        )
        args: dict[str, Any] = {"color": "never"}
        if policy.pack is not None:
            args["policy_packs"] = [str(policy.pack)]
            if policy.config is not None:
                args["policy_pack_configs"] = [str(policy.config)]
        self._call(f"{stack}: up", handle.up, **args)
        return {k: v.value for k, v in self._call(f"{stack}: outputs", handle.outputs).items()}

    def salt(self, stack: str, source: Path) -> str | None:
        """The passphrase salt the backend keeps for ``stack`` (None: another provider)."""
        from pulumi import automation as auto

        workspace = auto.LocalWorkspace(work_dir=str(source))
        exported = self._call(f"{stack}: export", workspace.export_stack, stack_name=stack)
        providers = (exported.deployment or {}).get("secrets_providers") or {}
        salt = (providers.get("state") or {}).get("salt")
        return str(salt) if salt and providers.get("type") == "passphrase" else None

    def destroy(self, stack: str, source: Path) -> None:
        from pulumi import automation as auto

        handle = self._call(
            f"{stack}: select", auto.select_stack, stack_name=stack, work_dir=str(source)
        )
        self._call(f"{stack}: destroy", handle.destroy, color="never", remove=True)

    def stacks(self, source: Path) -> list[Summary]:
        from pulumi import automation as auto

        workspace = auto.LocalWorkspace(work_dir=str(source))
        found = self._call("stack ls", workspace.list_stacks)
        return [Summary(s.name, s.last_update) for s in found]
