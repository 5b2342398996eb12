"""A rendered stage in the engine's wire terms: AnalyzeRequest per resource, AnalyzeStackRequest.

What the engine sends, and how this module reproduces it from an offline render:
- ``properties``: the resource's inputs (Analyze) -- the render has exactly these. Secrets,
  masked as ``[secret]`` by the renderer, go back on the wire as secret-signature objects;
  ``[unknown]`` becomes the engine's unknown sentinel, so rules see what they see in preview.
- ``options``: protect, ignoreChanges, deleteBeforeReplace, additionalSecretOutputs and the
  parent URN (the stack's URN for top-level resources). The protocol has no retainOnDelete.
- ``provider``: custom resources get their package's default provider, whose inputs are the
  stack config under that package's namespace (``aws:region`` -> ``region``) plus ``version``.
- AnalyzeStack: every resource with its parent, plus the stack resource (with the stack's
  outputs) and the default providers. After an update the engine would send outputs; offline,
  inputs are what exists (mock outputs are not captured), which is what preview shows too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from typing import Any

from google.protobuf import struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import analyzer_pb2

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
MASKED_SECRET, MASKED_UNKNOWN = "[secret]", "[unknown]"


def engine_value(value: Any) -> Any:
    """A rendered (JSON) value as the engine marshals it."""
    if value == MASKED_SECRET:
        return {SECRET_SIG_KEY: SECRET_SIG, "value": MASKED_SECRET}
    if value == MASKED_UNKNOWN:
        return UNKNOWN
    if isinstance(value, dict):
        return {k: engine_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [engine_value(v) for v in value]
    return value


def struct(properties: dict[str, Any]) -> Any:
    message = struct_pb2.Struct()
    message.update(engine_value(properties))
    return message


@cache
def provider_version(package: str) -> str:
    try:
        return metadata.version(f"pulumi_{package.replace('-', '_')}")
    except metadata.PackageNotFoundError:
        return "0.0.0"


@dataclass
class StageGraph:
    """One rendered stack, with what the engine would know about it."""

    stack: str
    project: str
    resources: list[dict[str, Any]]
    outputs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)

    @property
    def stack_urn(self) -> str:
        prefix = f"urn:pulumi:{self.stack}::{self.project}"
        return f"{prefix}::pulumi:pulumi:Stack::{self.project}-{self.stack}"

    def provider_urn(self, package: str) -> str:
        name = f"default_{provider_version(package).replace('.', '_')}"
        return f"urn:pulumi:{self.stack}::{self.project}::pulumi:providers:{package}::{name}"

    def provider_inputs(self, package: str) -> dict[str, Any]:
        prefix = f"{package}:"
        inputs: dict[str, Any] = {
            k.removeprefix(prefix): v for k, v in self.config.items() if k.startswith(prefix)
        }
        inputs["version"] = provider_version(package)
        return inputs

    def packages(self) -> list[str]:
        return sorted({r["type"].split(":")[0] for r in self.resources if r["custom"]})


def _options(resource: dict[str, Any], graph: StageGraph) -> Any:
    opts = resource.get("options", {})
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(opts.get("protect")),
        ignoreChanges=list(opts.get("ignoreChanges", [])),
        deleteBeforeReplace=bool(opts.get("deleteBeforeReplace")),
        deleteBeforeReplaceDefined="deleteBeforeReplace" in opts,
        additionalSecretOutputs=list(opts.get("additionalSecretOutputs", [])),
        parent=resource.get("parent") or graph.stack_urn,
    )


class WireStage:
    """One analysis of a graph in wire terms: each resource's properties, options and provider
    built once and shared by its Analyze request and the AnalyzeStack request (the engine too
    marshals a resource once per step); a package's provider once for the stage."""

    def __init__(self, graph: StageGraph) -> None:
        self.graph = graph
        self._providers: dict[str, Any] = {}
        self._parts: list[tuple[Any, Any, Any]] = []

    def _part(self, index: int) -> tuple[Any, Any, Any]:
        """The wire pieces of the resource at ``index``, built on first use."""
        while len(self._parts) <= index:
            r = self.graph.resources[len(self._parts)]
            self._parts.append(
                (struct(r.get("inputs", {})), _options(r, self.graph), self._provider(r))
            )
        return self._parts[index]

    def _package_provider(self, package: str) -> Any:
        """The default provider of ``package``, as the engine describes it (built once)."""
        if package not in self._providers:
            urn = self.graph.provider_urn(package)
            self._providers[package] = analyzer_pb2.AnalyzerProviderResource(
                type=f"pulumi:providers:{package}",
                properties=struct(self.graph.provider_inputs(package)),
                urn=urn,
                name=urn.rsplit("::", 1)[1],
            )
        return self._providers[package]

    def _provider(self, resource: dict[str, Any]) -> Any:
        if not resource["custom"]:
            return None
        return self._package_provider(resource["type"].split(":")[0])

    def analyze_requests(self) -> Iterator[Any]:
        """One AnalyzeRequest per resource, in the graph's order, each built as it is asked
        for (so the first can be on the wire while the rest are built)."""
        for index in range(len(self.graph.resources)):
            yield analyzer_pb2.AnalyzeRequest(**self._fields(index))

    def _fields(self, index: int) -> dict[str, Any]:
        """What an AnalyzeRequest and an AnalyzerResource both say of the resource."""
        r = self.graph.resources[index]
        properties, options, provider = self._part(index)
        return {
            "type": r["type"],
            "properties": properties,
            "urn": r["urn"],
            "name": r["name"],
            "options": options,
            "provider": provider,
        }

    def stack_request(self) -> Any:
        """The AnalyzeStackRequest: the stack, its default providers, then every resource."""
        graph = self.graph
        resources = [
            analyzer_pb2.AnalyzerResource(
                type="pulumi:pulumi:Stack",
                properties=struct(graph.outputs),
                urn=graph.stack_urn,
                name=f"{graph.project}-{graph.stack}",
                options=analyzer_pb2.AnalyzerResourceOptions(),
            )
        ]
        for package in graph.packages():
            provider = self._package_provider(package)
            resources.append(
                analyzer_pb2.AnalyzerResource(
                    type=provider.type,
                    properties=provider.properties,
                    urn=provider.urn,
                    name=provider.name,
                    options=analyzer_pb2.AnalyzerResourceOptions(parent=graph.stack_urn),
                    parent=graph.stack_urn,
                )
            )
        for index, r in enumerate(graph.resources):
            parent = r.get("parent") or graph.stack_urn
            resources.append(analyzer_pb2.AnalyzerResource(**self._fields(index), parent=parent))
        return analyzer_pb2.AnalyzeStackRequest(resources=resources)
