"""What our own random and tls providers share: the ResourceProvider gRPC servicer and its wire.

Each provider is a set of `Kind`s, one per type token, that know the real provider's defaults,
which input changes replace the resource, and how to make the real thing. `Provider` answers the
engine for them over Pulumi's ResourceProvider protocol (the Python SDK's generated
`provider_pb2_grpc`, as `tools/standin/provider.py` does), with the wire habits of the real
bridged (Terraform plugin framework) providers, from their recorded gRPC logs (pulumi/pulumi-random
and pulumi/pulumi-tls, `provider/testdata/recorded/TestProviderUpgrade/*/grpc.json`):

- Check returns the inputs as given (defaults are not added there), or failures;
- Create answers with every input, defaults applied, plus the computed outputs; a sensitive
  attribute, and an input that arrived secret, go back marked secret;
- Diff compares the inputs with the state (both with defaults applied), so setting a default
  explicitly is no change, and replaces where the real schema says `RequiresReplace`;
- Read returns the state as stored (the real Read is a no-op for these resources, except the
  certificates' `readyForRenewal`), Delete does nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from concurrent import futures
from dataclasses import dataclass
from importlib import util
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from google.protobuf import empty_pb2, json_format, struct_pb2  # noqa: E402
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc  # noqa: E402

from tools.standin.provider import SECRET_SIG, SIG, _revealed  # noqa: E402

# What the engine sends for a value not known yet during preview (sdk/go/common/resource/plugin).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

Props = dict[str, Any]


class InputRefusedError(ValueError):
    """An input the real provider refuses: (property, reason), reported as a check failure."""

    def __init__(self, prop: str, reason: str) -> None:
        super().__init__(f"{prop}: {reason}")
        self.prop = prop
        self.reason = reason


def plugin_version(package: str) -> str:
    """The version the installed SDK pins its plugin at (its `pulumi-plugin.json`)."""
    spec = util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the {package} SDK is not installed")
    manifest = json.loads((Path(spec.origin).parent / "pulumi-plugin.json").read_text())
    return str(manifest["version"])


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG) == SECRET_SIG


def secret(value: Any) -> Props:
    return {SIG: SECRET_SIG, "value": value}


def known(value: Any) -> bool:
    """False where any part of the value is still unknown (preview)."""
    if isinstance(value, str):
        return value != UNKNOWN
    if isinstance(value, dict):
        return all(known(v) for v in value.values())
    if isinstance(value, list):
        return all(known(v) for v in value)
    return True


@dataclass(frozen=True)
class Kind:
    """One resource type: its token, sensitive attributes and behaviour (subclasses fill in)."""

    token: str
    sensitive: frozenset[str] = frozenset()

    def defaults(self, inputs: Props) -> Props:
        """The inputs with the real provider's schema defaults applied."""
        return dict(inputs)

    def check(self, inputs: Props) -> None:
        """Raise `InputRefusedError` for an input the real provider refuses (may be unknown)."""

    def replaces(self, state: Props, news: Props, changed: list[str]) -> list[str]:
        """Of the changed inputs (state vs news, defaults applied), those that force a new one."""
        return changed

    def create(self, inputs: Props) -> tuple[str, Props]:
        """Make the real thing: (id, computed outputs) from the inputs with defaults."""
        raise NotImplementedError

    def read(self, state: Props) -> Props:
        """The state as the real Read leaves it (unchanged unless overridden)."""
        return state


def _dict(message: struct_pb2.Struct) -> Props:
    return dict(json_format.MessageToDict(message))


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(dict(value))
    return out


def _sealed(kind: Kind, values: Props, raw_inputs: Props) -> Props:
    """Values with the sensitive ones, and the inputs that arrived secret, marked secret."""
    out: Props = {}
    for key, value in values.items():
        plain = _revealed(value)
        if key in kind.sensitive or is_secret(raw_inputs.get(key)):
            out[key] = secret(plain)
        else:
            out[key] = plain
    return out


class Provider(provider_pb2_grpc.ResourceProviderServicer):  # type: ignore[misc]
    """Answers the engine for one package's kinds."""

    def __init__(self, package: str, version: str, kinds: list[Kind]) -> None:
        self.package = package
        self.version = version
        self.kinds = {kind.token: kind for kind in kinds}

    def _kind(self, token: str, context: Any) -> Kind:
        kind = self.kinds.get(token)
        if kind is None:
            context.abort(
                grpc.StatusCode.UNIMPLEMENTED,
                f"our {self.package} provider does not implement {token}",
            )
        return kind

    # --- plugin and configuration -----------------------------------------------------------
    def GetPluginInfo(self, request: empty_pb2.Empty, context: Any) -> plugin_pb2.PluginInfo:  # noqa: N802
        return plugin_pb2.PluginInfo(version=self.version)

    def GetSchema(self, request: Any, context: Any) -> provider_pb2.GetSchemaResponse:  # noqa: N802
        schema = {"name": self.package, "version": self.version, "resources": {}}
        return provider_pb2.GetSchemaResponse(schema=json.dumps(schema))

    def CheckConfig(self, request: Any, context: Any) -> provider_pb2.CheckResponse:  # noqa: N802
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> provider_pb2.DiffResponse:  # noqa: N802
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request: Any, context: Any) -> provider_pb2.ConfigureResponse:  # noqa: N802
        return provider_pb2.ConfigureResponse(
            acceptSecrets=True, supportsPreview=True, acceptResources=False
        )

    def Cancel(self, request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:  # noqa: N802
        return empty_pb2.Empty()

    # --- resources --------------------------------------------------------------------------
    def Check(self, request: Any, context: Any) -> provider_pb2.CheckResponse:  # noqa: N802
        kind = self._kind(request.type, context)
        try:
            kind.check(_revealed(_dict(request.news)))
        except InputRefusedError as refused:
            failure = provider_pb2.CheckFailure(property=refused.prop, reason=refused.reason)
            return provider_pb2.CheckResponse(inputs=request.news, failures=[failure])
        return provider_pb2.CheckResponse(inputs=request.news)

    def Diff(self, request: Any, context: Any) -> provider_pb2.DiffResponse:  # noqa: N802
        kind = self._kind(request.type, context)
        state = _revealed(_dict(request.olds))
        news = kind.defaults(_revealed(_dict(request.news)))
        olds = kind.defaults(
            _revealed(_dict(request.old_inputs)) if request.HasField("old_inputs") else {}
        )
        keys = set(olds) | set(news)
        changed = sorted(k for k in keys if state.get(k, olds.get(k)) != news.get(k))
        replaces = sorted(set(kind.replaces(state, news, changed)))
        diffs = sorted(set(changed) | set(replaces))
        if not diffs:
            return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME, diffs=diffs, replaces=replaces
        )

    def Create(self, request: Any, context: Any) -> provider_pb2.CreateResponse:  # noqa: N802
        kind = self._kind(request.type, context)
        raw = _dict(request.properties)
        inputs = kind.defaults(_revealed(raw))
        try:
            kind.check(inputs)
            resource_id, computed = kind.create(inputs)
        except (InputRefusedError, ValueError) as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{request.urn}: {exc}")
        props = _sealed(kind, {**inputs, **computed}, raw)
        return provider_pb2.CreateResponse(id=resource_id, properties=_struct(props))

    def Update(self, request: Any, context: Any) -> provider_pb2.UpdateResponse:  # noqa: N802
        # Only in-place fields reach here (Diff replaces on the others): the new state is the
        # old one with the new inputs, as the real `updatedUsingPlan` copies the plan.
        kind = self._kind(request.type, context)
        raw = _dict(request.news)
        state = _dict(request.olds)
        merged = {**_revealed(state), **kind.defaults(_revealed(raw))}
        secrets_before = {k: v for k, v in state.items() if is_secret(v)}
        props = _sealed(kind, merged, {**secrets_before, **raw})
        return provider_pb2.UpdateResponse(properties=_struct(props))

    def Read(self, request: Any, context: Any) -> provider_pb2.ReadResponse:  # noqa: N802
        kind = self._kind(request.type, context)
        stored = _dict(request.properties)
        read = kind.read(_revealed(stored))
        changed = {k: v for k, v in read.items() if _revealed(stored.get(k)) != v}
        properties = _struct({**stored, **changed}) if changed else request.properties
        return provider_pb2.ReadResponse(
            id=request.id, properties=properties, inputs=request.inputs
        )

    def Delete(self, request: Any, context: Any) -> empty_pb2.Empty:  # noqa: N802
        return empty_pb2.Empty()


def serve(provider: Provider) -> None:
    """Serve on a free loopback port and print it on stdout's first line, as the engine expects."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(provider, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()
