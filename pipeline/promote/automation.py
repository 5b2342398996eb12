"""The real deployer: Pulumi's Automation API over this project's stacks (needs the Pulumi CLI).

Kept thin: argument building and event reading are plain functions (tested without a CLI);
the rest is one call each to ``pulumi.automation``. The stack files stay the source of truth:
config is written with ``set_all_config(path=True)``, which edits ``stacks/Pulumi.<stack>.yaml``.
"""

from __future__ import annotations

import json
import re
import socket
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from components import project
from pipeline.promote.deployer import (
    Change,
    DeployError,
    PolicyOptions,
    PolicyResult,
    Preview,
    ReleaseConfig,
    StackBusyError,
)
from pipeline.promote.diff import changed_paths
from pipeline.promote.lock import process_alive
from pipeline.promote.sidecar import (
    UNREADABLE,
    CheckpointDamagedError,
    backend_root,
    repair_sidecars,
)

PROJECT = project.name()


def image_config(config: ReleaseConfig) -> dict[str, str]:
    """Path-style config keys for ``set_all_config(path=True)``."""
    values = {f"{PROJECT}:release": config.release}
    for service, image in sorted(config.images.items()):
        values[f"{PROJECT}:images.{service}"] = image
    return values


def preview_arguments(policy: PolicyOptions, plan: str) -> dict[str, Any]:
    """Keyword arguments of ``Stack.preview``: policy pack, its stage config, the saved plan."""
    args: dict[str, Any] = {"plan": plan, "diff": True, "color": "never"}
    if policy.pack is not None:
        args["policy_packs"] = [str(policy.pack)]
        if policy.config is not None:
            args["policy_pack_configs"] = [str(policy.config)]
    return args


def up_arguments(preview: Preview) -> dict[str, Any]:
    """``Stack.up`` held to the plan the preview saved (``--plan``)."""
    if not preview.plan:
        raise DeployError("no saved update plan: preview first")
    return {"plan": preview.plan, "color": "never"}


class PreviewRecorder:
    """``on_event`` callback that keeps step and policy events of one preview."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.violations: list[dict[str, Any]] = []

    def __call__(self, event: Any) -> None:
        pre = getattr(event, "resource_pre_event", None)
        if pre is not None and pre.metadata is not None:
            meta = pre.metadata
            old = meta.old.inputs if meta.old is not None else None
            new = meta.new.inputs if meta.new is not None else None
            op = getattr(meta.op, "value", str(meta.op))
            paths = tuple(meta.diffs or ()) or changed_paths(old, new)
            self.changes.append(
                Change(
                    meta.urn,
                    meta.type,
                    op,
                    {"inputs": old} if old is not None else None,
                    {"inputs": new} if new is not None else None,
                    paths,
                )
            )
        policy = getattr(event, "policy_event", None)
        if policy is not None:
            self.violations.append(
                {
                    "policy": policy.policy_name,
                    "pack": policy.policy_pack_name,
                    "enforcement": policy.enforcement_level,
                    "urn": policy.resource_urn,
                    "message": policy.message,
                }
            )

    def policy_result(self, policy: PolicyOptions) -> PolicyResult:
        if policy.pack is None:
            return PolicyResult("not run", note="no policy pack (policies/PulumiPolicy.yaml)")
        mandatory = [v for v in self.violations if v["enforcement"] == "mandatory"]
        return PolicyResult("failed" if mandatory else "passed", list(self.violations))


def pending_from_deployment(deployment: Mapping[str, Any] | None) -> list[str]:
    """``urn: type`` of each pending operation in an exported stack deployment."""
    pending = (deployment or {}).get("pending_operations") or []
    return [
        f"{op.get('resource', {}).get('urn', '?')}: {op.get('type', '?')}"
        for op in pending
        if isinstance(op, dict)
    ]


# The DIY backend's refusal names each lock's holder (pkg/backend/diy/lock.go, checkForLock:
# "created by <user>@<host> (pid <pid>) at <time>").
LOCK_HOLDER = re.compile(r"created by (?P<user>[^@\s]*)@(?P<host>\S+) \(pid (?P<pid>\d+)\)")


def stale_holders(refusal: str) -> list[str]:
    """The holders a lock refusal names, if every one is a process of this host that no longer
    runs; empty if any may be alive (another host, a live pid) or none could be read."""
    holders = [m.groupdict() for m in LOCK_HOLDER.finditer(refusal)]
    if not holders:
        return []
    here = socket.gethostname()
    if any(h["host"] != here or process_alive(int(h["pid"])) for h in holders):
        return []
    return [f"{h['user']}@{h['host']} (pid {h['pid']})" for h in holders]


class AutomationDeployer:
    """The Deployer protocol on ``pulumi.automation`` with the project in ``project_dir``."""

    def __init__(self, project_dir: Path, plan_dir: Path | None = None) -> None:
        self.project_dir = project_dir
        self.plan_dir = plan_dir or Path(tempfile.mkdtemp(prefix=f"{PROJECT}-plans-"))
        # The CLI writes the saved plan into this directory but does not create it.
        self.plan_dir.mkdir(parents=True, exist_ok=True)
        self.sources: dict[str, Path] = {}
        # Selecting a stack runs the CLI twice (its version check, then `stack select`): a
        # stage's promotion asks for the stack about six times, so each handle is kept.
        self._handles: dict[tuple[str, Path], Any] = {}
        # What was repaired in a stack's backend before it could be selected: written into the
        # stage's `up completed` entry, as a cleared stack lock is.
        self._repairs: dict[str, list[str]] = {}

    def use_source(self, stack: str, source: Callable[[], Path | None]) -> None:
        """Deploy ``stack`` from ``source()`` (a worktree at the release's infrastructure
        commit) instead of ``self.project_dir``; its stack file is the one config is set in."""
        project_dir = source()
        if project_dir is not None:
            self.sources[stack] = project_dir

    def work_dir(self, stack: str) -> Path:
        return self.sources.get(stack, self.project_dir)

    def _stack(self, stack: str) -> Any:
        key = (stack, self.work_dir(stack))
        if key not in self._handles:
            self._handles[key] = self._select(stack)
        return self._handles[key]

    def _select(self, stack: str) -> Any:
        from pulumi import automation as auto

        work_dir = str(self.work_dir(stack))
        try:
            return auto.select_stack(stack_name=stack, work_dir=work_dir)
        except auto.errors.CommandError as exc:
            if UNREADABLE not in str(exc) or not self._repair(stack, work_dir):
                raise DeployError(f"{stack}: cannot select the stack: {exc}") from None
        except FileNotFoundError as exc:
            raise DeployError(f"the Pulumi CLI is not installed ({exc})") from None
        try:  # once more, after the repair
            return auto.select_stack(stack_name=stack, work_dir=work_dir)
        except auto.errors.CommandError as exc:
            raise DeployError(f"{stack}: cannot select the stack: {exc}") from None

    def _repair(self, stack: str, work_dir: str) -> bool:
        """Remove what a killed write left torn in a ``file://`` backend's files of ``stack``
        (pipeline.promote.sidecar); whether anything was."""
        from pulumi import automation as auto

        try:
            url = auto.LocalWorkspace(work_dir=work_dir).who_am_i().url
        except auto.errors.CommandError:
            return False
        root = backend_root(url or "")
        if root is None:
            return False
        try:
            notes = repair_sidecars(root, PROJECT, stack)
        except CheckpointDamagedError as exc:
            raise DeployError(f"{stack}: {exc}") from None
        self._repairs.setdefault(stack, []).extend(notes)
        return bool(notes)

    def _call(self, stack: str, what: str, fn: Any, **kwargs: Any) -> Any:
        from pulumi import automation as auto

        try:
            return fn(**kwargs)
        except auto.errors.ConcurrentUpdateError as exc:
            raise StackBusyError(
                f"{stack}: {what} refused, another update holds the stack's lock ({exc}). Wait"
                f" for it; `pulumi cancel --stack {stack}` only if no update is running"
            ) from None
        except auto.errors.CommandError as exc:
            raise DeployError(f"{stack}: {what} failed: {exc}") from None

    def set_images(self, stack: str, config: ReleaseConfig) -> ReleaseConfig:
        handle = self._stack(stack)
        current = self._call(stack, "config read", handle.get_all_config)
        release = current.get(f"{PROJECT}:release")
        images_raw = current.get(f"{PROJECT}:images")
        images = json.loads(images_raw.value) if images_raw is not None else {}
        previous = ReleaseConfig(release.value if release is not None else "unreleased", images)
        from pulumi import automation as auto

        values = {k: auto.ConfigValue(v) for k, v in image_config(config).items()}
        self._call(stack, "set config", handle.set_all_config, config=values, path=True)
        return previous

    def preview(self, stack: str, policy: PolicyOptions) -> Preview:
        handle = self._stack(stack)
        plan = str(self.plan_dir / f"{stack}.plan.json")
        recorder = PreviewRecorder()
        self._call(
            stack, "preview", handle.preview, on_event=recorder, **preview_arguments(policy, plan)
        )
        return Preview(recorder.changes, recorder.policy_result(policy), plan)

    def up(self, stack: str, preview: Preview) -> list[str]:
        handle = self._stack(stack)
        repaired = self._repairs.pop(stack, [])
        try:
            self._call(stack, "up", handle.up, **up_arguments(preview))
            return repaired
        except StackBusyError as exc:
            stale = stale_holders(str(exc))
            if not stale:  # a holder that may be alive: never break its lock
                raise
        # Every holder was a process of this host that is gone (a promotion killed during
        # its update): nothing can be updating the stack, so its lock is cleared, once.
        self._call(stack, "cancel", handle.cancel)
        self._call(stack, "up", handle.up, **up_arguments(preview))
        return repaired + [
            f"cleared the stack lock of {who}, whose process is gone" for who in stale
        ]

    def outputs(self, stack: str) -> Mapping[str, Any]:
        handle = self._stack(stack)
        values = self._call(stack, "outputs", handle.outputs)
        return {k: v.value for k, v in values.items()}

    def pending_operations(self, stack: str) -> list[str]:
        handle = self._stack(stack)
        exported = self._call(stack, "export", handle.export_stack)
        return pending_from_deployment(exported.deployment)
