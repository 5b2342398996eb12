"""Drive the policy pack over Pulumi's Analyzer gRPC protocol, as the engine does.

Per stage: ConfigureStack (stack, project, config, tags), Configure (the stage's resolved policy
config), Analyze for every resource, AnalyzeStack for the whole graph. One pack process serves
every stage of a run; its config is replaced before each stage, so stages are analyzed one at a
time. The pack runs only the rules of the stage's substrate (``<project>:cloud`` in the config
ConfigureStack carries, policies/analyzer.py), or, when the stack declares none, of every
substrate with a component in the graph; a stage's compliance counts those rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import grpc  # type: ignore[import-untyped]
from google.protobuf import empty_pb2, json_format  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from components.spec.loader import PROJECT
from pipeline.policy.config import PolicyMeta, StageConfig, config_path, resolve
from pipeline.policy.process import PackProcess, PolicyPackError
from pipeline.policy.wire import StageGraph, WireStage

T = TypeVar("T")
LEVEL_NAMES = {
    analyzer_pb2.ADVISORY: "advisory",
    analyzer_pb2.MANDATORY: "mandatory",
    analyzer_pb2.REMEDIATE: "remediate",
    analyzer_pb2.DISABLED: "disabled",
}
LEVEL_VALUES = {name: value for value, name in LEVEL_NAMES.items()}
SEVERITY_NAMES = {
    analyzer_pb2.POLICY_SEVERITY_UNSPECIFIED: "unspecified",
    analyzer_pb2.POLICY_SEVERITY_LOW: "low",
    analyzer_pb2.POLICY_SEVERITY_MEDIUM: "medium",
    analyzer_pb2.POLICY_SEVERITY_HIGH: "high",
    analyzer_pb2.POLICY_SEVERITY_CRITICAL: "critical",
}
RPC_TIMEOUT = 60.0
# The engine raises gRPC's 4 MB receive limit the same way.
CHANNEL_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024)]


@dataclass(frozen=True)
class Diagnostic:
    """One violation as the pack reported it."""

    policy: str
    enforcement: str
    urn: str
    message: str
    description: str
    severity: str

    def finding(self) -> dict[str, str]:
        """The shape plan reports: policy, enforcement, severity, urn and the specific message."""
        return {
            "policy": self.policy,
            "enforcement": self.enforcement,
            "severity": self.severity,
            "urn": self.urn,
            "message": self.message,
        }


@dataclass
class StageCompliance:
    """The outcome of one stage: which rules ran and what they found."""

    stack: str
    stage: str
    config: StageConfig
    diagnostics: list[Diagnostic] = field(default_factory=list)
    substrate: str | None = None
    """Declared by the stack, else the one its components are of; None: several or none."""
    rules: frozenset[str] | None = None
    """The pack's rules for this stage's substrate; None: every rule."""

    @property
    def enabled(self) -> list[str]:
        return sorted(
            n
            for n, r in self.config.policies.items()
            if r.enforcement != "disabled" and (self.rules is None or n in self.rules)
        )

    @property
    def passed(self) -> list[str]:
        failed = {d.policy for d in self.diagnostics}
        return [n for n in self.enabled if n not in failed]

    def count(self, enforcement: str) -> int:
        return sum(1 for d in self.diagnostics if d.enforcement == enforcement)

    def findings(self) -> list[dict[str, str]]:
        return [d.finding() for d in self.diagnostics]


def stage_of(graph: StageGraph) -> str:
    """The stage a stack deploys: its ``stage`` output, its config, or its resources' tag."""
    stage = graph.outputs.get("stage") or graph.config.get(f"{PROJECT}:stage")
    if not stage:
        tagged = (r.get("inputs", {}).get("tags") or {} for r in graph.resources)
        stage = next((t["stage"] for t in tagged if isinstance(t, dict) and t.get("stage")), "")
    if not stage:
        raise PolicyPackError(f"{graph.stack}: no stage output, {PROJECT}:stage or stage tag")
    return str(stage)


def substrate_of(graph: StageGraph) -> str | None:
    """The substrate a stack declares (``<project>:cloud``); None when it declares none (the
    AWS stages: the stage loader defaults it, and the pack then fails closed)."""
    return graph.config.get(f"{graph.project}:cloud") or None


def component_substrates(graph: StageGraph) -> set[str]:
    """The substrates of the graph's blueprint components (``<project>:<substrate>:<Role>``)."""
    prefix = f"{graph.project}:"
    return {r["type"].split(":")[1] for r in graph.resources if r["type"].startswith(prefix)}


def _diagnostic(message: Any) -> Diagnostic:
    # The pack prefixes the policy's description; keep only what this violation adds.
    text: str = message.message
    detail = text.removeprefix(message.description).lstrip("\n") or text
    return Diagnostic(
        policy=message.policyName,
        enforcement=LEVEL_NAMES.get(message.enforcementLevel, str(message.enforcementLevel)),
        urn=message.urn,
        message=detail,
        description=message.description,
        severity=SEVERITY_NAMES.get(message.severity, "unspecified"),
    )


class PolicyHarness:
    """A running pack and a gRPC client for it. ``start()`` returns before the pack is up."""

    def __init__(self, pack_dir: Path, config_dir: Path | None = None) -> None:
        self.pack_dir = pack_dir
        self.config_dir = config_dir or pack_dir / "config"
        self.process = PackProcess(pack_dir)
        self._channel: Any = None
        self._stub: Any = None
        self._info: Any = None
        self._metas: list[PolicyMeta] | None = None

    def start(self) -> PolicyHarness:
        self.process.start()
        return self

    def _connect(self) -> Any:
        if self._stub is None:
            port = self.process.port()
            self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=CHANNEL_OPTIONS)
            self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        return self._stub

    def _call(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except grpc.RpcError as exc:
            # The connection can drop a moment before the process is reaped: give it a second.
            if not self.process.alive(grace=1.0):
                raise self.process.crashed(f"crashed during {what}") from None
            raise PolicyPackError(f"policy pack failed {what}: {exc.details()}") from None

    # ---------------------------------------------------------------- pack metadata

    def info(self) -> Any:
        """GetAnalyzerInfo: the pack's name, version and policies (cached)."""
        if self._info is None:
            stub = self._connect()
            self._info = self._call(
                "GetAnalyzerInfo",
                lambda: stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=RPC_TIMEOUT),
            )
        return self._info

    def policies(self) -> list[PolicyMeta]:
        """What the pack says about each policy (read once: the pack does not change)."""
        if self._metas is not None:
            return self._metas
        metas = []
        for p in self.info().policies:
            schema = json_format.MessageToDict(p.configSchema.properties)
            metas.append(
                PolicyMeta(
                    name=p.name,
                    description=p.description,
                    enforcement=LEVEL_NAMES.get(p.enforcementLevel, "advisory"),
                    kind="stack" if p.policy_type == analyzer_pb2.POLICY_TYPE_STACK else "resource",
                    severity=SEVERITY_NAMES.get(p.severity, "unspecified"),
                    remediation=p.remediation_steps,
                    tags=tuple(p.tags),
                    schema=schema,
                    required=tuple(p.configSchema.required),
                )
            )
        self._metas = metas
        return metas

    def rules_for(self, substrates: set[str]) -> frozenset[str]:
        """The names of the rules the pack runs on a stage of these substrates (every
        substrate's when none of them is one the pack knows, as the pack fails closed)."""
        known = {p.substrate for p in self.policies()} - {None}
        wanted = (substrates & known) or known
        return frozenset(p.name for p in self.policies() if p.substrate in (None, *wanted))

    def stage_config(self, stage: str) -> StageConfig:
        return resolve(config_path(self.config_dir, stage), stage, self.policies())

    # ---------------------------------------------------------------- analysis

    def configure(self, graph: StageGraph, config: StageConfig, stack: bool = True) -> None:
        """ConfigureStack (unless ``stack`` is false: an engine older than the call), then
        Configure with the stage's policy config."""
        stub = self._connect()
        stack_request = analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=graph.stack,
            project=graph.project,
            organization="organization",
            dry_run=True,
            config={k: str(v) for k, v in graph.config.items()},
            tags={"stage": config.stage},
        )
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, resolved in config.policies.items():
            entry = request.policyConfig[name]
            entry.enforcementLevel = LEVEL_VALUES[resolved.enforcement]
            entry.properties.update(resolved.properties)
        if stack:
            self._call(
                "ConfigureStack",
                lambda: stub.ConfigureStack(stack_request, timeout=RPC_TIMEOUT),
            )
        self._call("Configure", lambda: stub.Configure(request, timeout=RPC_TIMEOUT))

    def analyze(
        self, graph: StageGraph, config: StageConfig | None = None, configure_stack: bool = True
    ) -> StageCompliance:
        """Every resource through Analyze, then the graph through AnalyzeStack."""
        stage = stage_of(graph)
        config = config or self.stage_config(stage)
        self.configure(graph, config, configure_stack)
        stub = self._connect()
        # Requests go out together (the pack serves four at once) and are read back in order;
        # AnalyzeStack too, since its answer does not depend on theirs (the engine sends it
        # last because it has the whole graph only then; an offline render has it at once).
        wire = WireStage(graph)
        futures = [
            stub.Analyze.future(request, timeout=RPC_TIMEOUT) for request in wire.analyze_requests()
        ]
        whole = stub.AnalyzeStack.future(wire.stack_request(), timeout=RPC_TIMEOUT)
        diagnostics: list[Diagnostic] = []
        for resource, future in zip(graph.resources, futures, strict=True):
            response = self._call("Analyze", future.result)
            for message in response.diagnostics:
                found = _diagnostic(message)
                # A resource rule reports against the resource it was given.
                diagnostics.append(
                    found if found.urn else Diagnostic(**{**found.__dict__, "urn": resource["urn"]})
                )
        response = self._call("AnalyzeStack", whole.result)
        for message in response.diagnostics:
            found = _diagnostic(message)
            # A stack rule that names no resource is about the stack as a whole.
            urn = found.urn or graph.stack_urn
            diagnostics.append(Diagnostic(**{**found.__dict__, "urn": urn}))
        declared = substrate_of(graph)
        substrates = {declared} if declared else component_substrates(graph)
        substrate = declared or (next(iter(substrates)) if len(substrates) == 1 else None)
        return StageCompliance(
            graph.stack, stage, config, diagnostics, substrate, self.rules_for(substrates)
        )

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        try:
            if self._channel is not None:
                self._channel.close()
        finally:
            self._channel = self._stub = None
            self.process.stop()

    def __enter__(self) -> PolicyHarness:
        if not self.process.alive():
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
