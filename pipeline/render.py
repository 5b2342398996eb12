"""Render stages offline: the real ``__main__.py`` under Pulumi's mock runtime.

Each stage renders in its own process, forked from a server that has already imported the SDKs,
so no runtime state is shared between stacks and both cores are used. Config reaches the program
exactly as the CLI passes it (``PULUMI_CONFIG``); ``secure:`` values arrive as unknowns and are
never decrypted. The captured graph lists every registered resource in the engine's terms.
"""

from __future__ import annotations

import copy
import json
import multiprocessing
import os
import runpy
import signal
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components import project
from components.spec.loader import UNKNOWN
from components.spec.stackfile import StackConfig
from pipeline import early

SECRET = "[secret]"
UNKNOWN_VALUE = "[unknown]"


@dataclass
class StageRender:
    """One stage's desired state, or the reason it could not be rendered."""

    stack: str
    source: str
    resources: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started: float | None = field(default=None, compare=False)
    finished: float | None = field(default=None, compare=False)
    """When the stage's process ran the program (``time.monotonic()``, CLOCK_MONOTONIC: one
    clock for every process of the machine); None for a render served from the cache. Not part
    of the render's content, so never stored or printed."""

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "source": self.source,
            "resources": self.resources,
            "outputs": self.outputs,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StageRender:
        return cls(data["stack"], data["source"], data["resources"], data["outputs"], data["error"])


def _plain(value: Any) -> Any:
    """Deserialized engine values as JSON: secrets masked, unknowns marked."""
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value == UNKNOWN:
        return UNKNOWN_VALUE
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the engine carries every number as a double
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


# The wire form's special values (sdk/go/common/resource/sig/sig.go).
_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
_OUTPUT_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4"


def _from_wire(value: Any) -> Any:
    """A registration's inputs as the engine keeps them: a secret masks only itself.

    The SDK's deserializer marks a whole object secret when any leaf is, so a block holding one
    secret (Azure's log-analytics shared key) lost every other value; the real engine keeps the
    secret at its leaf (the engine lane compares the two).
    """
    from pulumi.runtime import rpc

    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SECRET_SIG:
            return SECRET
        if sig == _OUTPUT_SIG:
            if value.get("secret"):
                return SECRET
            return _from_wire(value["value"]) if "value" in value else UNKNOWN_VALUE
        if sig is not None:  # assets, archives, resource references: as the SDK reads them
            return _plain(rpc.deserialize_property(value, keep_unknowns=True))
        return {k: _from_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_wire(v) for v in value]
    return _plain(value)


def _capturing_monitor(mocks: Any) -> Any:
    from google.protobuf import json_format  # type: ignore[import-untyped]
    from pulumi.runtime import rpc
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.settings import get_project, get_stack

    class CapturingMonitor(MockMonitor):
        """The mock monitor, also keeping each registration as the engine received it."""

        def __init__(self) -> None:
            super().__init__(mocks)
            self.graph: list[dict[str, Any]] = []
            self.outputs: dict[str, Any] = {}
            self.stack_urn = ""

        def make_urn(self, parent: str, type_: str, name: str) -> str:
            # The engine's rule (pkg/resource/deploy/source_eval.go, resource.NewURN at v3.274.0):
            # a child's type is qualified by its parent's whole qualified type, except under the
            # root stack. The SDK's MockMonitor keeps only the parent's last type, so nested
            # components got URNs the real engine never makes (the engine lane caught it).
            if parent:
                qualified = parent.split("::")[2]
                if qualified != "pulumi:pulumi:Stack":
                    type_ = f"{qualified}${type_}"
            return "urn:pulumi:" + "::".join([get_stack(), get_project(), type_, name])

        def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
            response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
            if request.type == "pulumi:pulumi:Stack":
                self.stack_urn = response.urn
                return response
            inputs = json_format.MessageToDict(request.object)
            self.graph.append(
                {
                    "urn": response.urn,
                    "type": request.type,
                    "name": request.name,
                    "parent": request.parent if request.parent != self.stack_urn else "",
                    "custom": bool(request.custom),
                    "inputs": _from_wire(inputs),
                    "options": {
                        "protect": bool(request.protect),
                        "retainOnDelete": bool(request.retainOnDelete),
                        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                        "ignoreChanges": sorted(request.ignoreChanges),
                        "additionalSecretOutputs": sorted(request.additionalSecretOutputs),
                    },
                }
            )
            return response

        def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
            if request.urn == self.stack_urn:
                props = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
                self.outputs = _plain(props)
            return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]

    return CapturingMonitor()


def _without_aliases(args: Any) -> Any:
    """Drop aliases: they map old URNs in existing state, and an offline render has none.

    azure-native gives every resource about twenty API-version aliases; resolving them cost
    two thirds of an Azure stage's render. Nothing in the captured graph depends on them.
    """
    import pulumi

    if not args.opts.aliases:
        return None
    opts = copy.copy(args.opts)  # ResourceOptions.merge would concatenate, not clear, the list
    opts.aliases = []
    return pulumi.ResourceTransformationResult(args.props, opts)


def _without_source_positions() -> None:
    """Register resources without the Python stack that created them.

    The SDK walks the whole call stack (``traceback.extract_stack``, reading source lines) for
    every resource, to send the engine a source position for its diagnostics: about an eighth
    of a stage's render. The captured graph holds none of it (the mock monitor drops it), so
    the offline render sends an empty trace, as the SDK itself does when it finds no frame.
    """
    from pulumi.runtime import resource
    from pulumi.runtime.proto import source_pb2

    resource._get_stack_trace = source_pb2.StackTrace


def render_stage(project_dir: str, config: StackConfig) -> StageRender:
    """Run the program for one stack. Call in a fresh process: the runtime is process-global."""
    import pulumi
    from pulumi.runtime.settings import set_root_resource
    from pulumi.runtime.stack import run_in_stack
    from pulumi.runtime.sync_await import _sync_await

    from pipeline.mocks import StageMocks

    result = StageRender(config.stack, config.source)
    os.environ["PULUMI_CONFIG"] = json.dumps(config.values)
    os.environ["PULUMI_CONFIG_SECRET_KEYS"] = json.dumps(list(config.secret_keys))
    # The program checks the stack against the pipeline file beside the stack files rendered.
    os.environ["STAGELINE_STACKS_DIR"] = str(Path(config.source).parent)
    _without_source_positions()
    mocks = StageMocks(
        config.stack, config.region, config.values.get(project.key("cloud", project_dir), "aws")
    )
    monitor = _capturing_monitor(mocks)
    pulumi.runtime.set_mocks(
        mocks, project=project.name(project_dir), stack=config.stack, preview=False, monitor=monitor
    )
    # set_mocks makes a placeholder root stack; the program runs in its own, as under the CLI.
    set_root_resource(None)  # type: ignore[arg-type]
    program = str(Path(project_dir) / "__main__.py")
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    try:

        def program_main() -> None:
            pulumi.runtime.register_stack_transformation(_without_aliases)
            runpy.run_path(program, run_name="__main__")

        _sync_await(run_in_stack(program_main))
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    # Registrations arrive as the SDK's tasks complete, in an order that varies between runs:
    # by URN (unique in a stack), so plan, diff and the cache hold the same bytes every time.
    result.resources = sorted(monitor.graph, key=lambda r: str(r["urn"]))
    result.outputs = monitor.outputs
    return result


def _render_json(project_dir: str, config: StackConfig) -> tuple[dict[str, Any], float, float]:
    started = time.monotonic()
    data = render_stage(project_dir, config).to_json()
    return data, started, time.monotonic()


def _received(result: tuple[dict[str, Any], float, float]) -> StageRender:
    data, started, finished = result
    render = StageRender.from_json(data)
    render.started, render.finished = started, finished
    return render


def start_fork_server(clouds: Iterable[str]) -> None:
    """Start the fork server now, warming ``clouds``' SDKs, so the imports (most of a cold
    plan) run while the caller loads the stage files and starts the policy pack. The first
    render would start it anyway; a cloud left out is only imported later, by its stage."""
    early.start_fork_server(set(clouds))


def render_stages(
    project_dir: Path,
    configs: Iterable[StackConfig],
    jobs: int | None = None,
    done: Callable[[str], None] | None = None,
    ready: Callable[[StageRender], None] | None = None,
) -> dict[str, StageRender]:
    """Render every stage, each in a fresh process from a warm fork server; ``done(stack)``
    as each one finishes (progress), then ``ready(render)``, in this process while the other
    stages still render (``plan`` stores the render and checks its policy there)."""
    configs = list(configs)
    if not configs:
        return {}
    context = multiprocessing.get_context("forkserver")
    # The fork server reads this when it starts (once per process): warm only the clouds in use.
    clouds = sorted({c.values.get(project.key("cloud", project_dir), "aws") for c in configs})
    os.environ.setdefault("STAGELINE_WARM", ",".join(clouds))
    context.set_forkserver_preload(early.PRELOAD)
    workers = min(len(configs), jobs or os.cpu_count() or 1)
    # max_tasks_per_child=1: one stage per process, so no runtime state crosses stacks.
    pool = ProcessPoolExecutor(workers, mp_context=context, max_tasks_per_child=1)
    try:
        # A Ctrl-C while a worker is being forked would orphan it half-started: hold the signal
        # until every stage is submitted, then take it while waiting for the results.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            futures = {c.stack: pool.submit(_render_json, str(project_dir), c) for c in configs}
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        renders: dict[str, StageRender] = {}
        stack_of = {f: s for s, f in futures.items()}
        for finished in as_completed(stack_of):
            stack = stack_of[finished]
            renders[stack] = _received(finished.result())
            if done is not None:
                done(stack)
            if ready is not None:
                ready(renders[stack])
        return {stack: renders[stack] for stack in futures}
    except BaseException:
        # Interrupted: start no further stage, and let the running ones finish before we go.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
