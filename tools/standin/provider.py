"""A stand-in resource provider plugin for the real Pulumi engine (the engine lane, `make bench`).

One process serves one package (aws, azure-native, docker, random, tls) over Pulumi's
ResourceProvider gRPC protocol (the Python SDK's generated `provider_pb2_grpc`), so the engine
built from source runs this project's program exactly as it would against the real plugins, minus
the cloud:

- Check returns the inputs as given (the real providers add defaults and auto-names; the offline
  renderer does not, and the lane compares the two graphs);
- Create/Update/Read answer with the inputs plus the outputs of the offline renderer's per-type
  tables (`pipeline.mocks`), so stack outputs read back like a real stage's;
- Diff reports which top-level inputs changed and asks the blueprint's replacement knowledge
  (`components.replacement`, from the providers' own ForceNew/replaceOnChanges facts) whether the
  change replaces the resource, so a preview says `replace` where the real provider would;
- Update fails, as the cloud's API does, when it would change a field the cloud refuses to change
  in place (`refusedOnUpdate` in the same tables: azure-native sends an update for a create-only
  field of a nested type and Azure answers with an error), so `up` fails where the real one would;
- Invoke answers from the same tables as the offline renderer's mocks.

Usage (what the installed plugin executable runs): provider.py PACKAGE VERSION ENGINE_ADDRESS.
The port is printed on stdout's first line, as the engine expects.
"""

from __future__ import annotations

import sys
from concurrent import futures
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import grpc  # noqa: E402
from google.protobuf import empty_pb2, json_format, struct_pb2  # noqa: E402
from pulumi.runtime.proto import plugin_pb2, provider_pb2, provider_pb2_grpc  # noqa: E402

from pipeline.mocks import CALLS, RESOURCES, Facts, read_back  # noqa: E402

# A secret on the wire (sdk/go/common/resource/sig/sig.go).
SIG = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def _replaces(type_token: str, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """The top-level inputs whose change makes the real provider replace the resource.

    From the blueprint's replacement knowledge (components/replacement.py: the providers' own
    ForceNew / replaceOnChanges facts, with provenance), over the changed nested paths.
    """
    from components.replacement import forcing_paths
    from pipeline.promote.diff import changed_paths

    forcing = forcing_paths(type_token, changed_paths(olds, news))
    return sorted({path.split(".")[0].split("[")[0] for path in forcing})


def _refuses(type_token: str, olds: dict[str, Any], news: dict[str, Any]) -> list[str]:
    """The changed input paths the cloud refuses to update in place (components.replacement)."""
    from components.replacement import refusing_paths
    from pipeline.promote.diff import changed_paths

    return list(refusing_paths(type_token, changed_paths(olds, news)))


def _revealed(value: Any) -> Any:
    """The value with secret markers removed, for the tables that compute outputs."""
    if isinstance(value, dict):
        if value.get(SIG) == SECRET_SIG:
            return _revealed(value.get("value"))
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def _dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def _urn_parts(urn: str) -> tuple[str, str]:
    """(stack, resource name) of `urn:pulumi:STACK::PROJECT::TYPE::NAME`."""
    head, _, name = urn.rpartition("::")
    stack = head.split("::", 1)[0].removeprefix("urn:pulumi:")
    return stack, name


class StandIn(provider_pb2_grpc.ResourceProviderServicer):  # type: ignore[misc]
    """Answers the engine for one package from the offline renderer's tables."""

    def __init__(self, package: str, version: str) -> None:
        self.package = package
        self.version = version
        self.region = ""

    # --- plugin and configuration -----------------------------------------------------------
    def GetPluginInfo(self, request: empty_pb2.Empty, context: Any) -> plugin_pb2.PluginInfo:
        return plugin_pb2.PluginInfo(version=self.version)

    def CheckConfig(self, request: Any, context: Any) -> provider_pb2.CheckResponse:
        return provider_pb2.CheckResponse(inputs=request.news)

    def DiffConfig(self, request: Any, context: Any) -> provider_pb2.DiffResponse:
        return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)

    def Configure(self, request: Any, context: Any) -> provider_pb2.ConfigureResponse:
        variables = dict(request.variables)
        self.region = variables.get(f"{self.package}:config:region") or variables.get(
            f"{self.package}:config:location", ""
        )
        args = _dict(request.args)
        self.region = str(args.get("region") or args.get("location") or self.region)
        # Like the real (bridged and native) providers: secrets arrive marked and go back
        # marked, so the engine keeps each secret where the program put it.
        return provider_pb2.ConfigureResponse(
            acceptSecrets=True, supportsPreview=True, acceptResources=False
        )

    def Cancel(self, request: empty_pb2.Empty, context: Any) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    # --- resources --------------------------------------------------------------------------
    def _outputs(self, urn: str, type_token: str, inputs: dict[str, Any]) -> tuple[str, dict]:
        stack, name = _urn_parts(urn)
        facts = Facts(stack, self.region or "local", name)
        computed = RESOURCES.get(type_token)
        outputs = dict(computed(_revealed(inputs), facts)) if computed else {}
        resource_id = str(outputs.pop("id", None) or facts.physical)
        return resource_id, {**inputs, **outputs}

    def Check(self, request: Any, context: Any) -> provider_pb2.CheckResponse:
        return provider_pb2.CheckResponse(inputs=request.news)

    def Diff(self, request: Any, context: Any) -> provider_pb2.DiffResponse:
        olds = _dict(request.old_inputs) if request.HasField("old_inputs") else _dict(request.olds)
        news = _dict(request.news)
        changed = sorted(k for k in set(olds) | set(news) if olds.get(k) != news.get(k))
        if not changed:
            return provider_pb2.DiffResponse(changes=provider_pb2.DiffResponse.DIFF_NONE)
        replaces = _replaces(request.type, olds, news)
        return provider_pb2.DiffResponse(
            changes=provider_pb2.DiffResponse.DIFF_SOME, diffs=changed, replaces=replaces
        )

    def Create(self, request: Any, context: Any) -> provider_pb2.CreateResponse:
        resource_id, props = self._outputs(request.urn, request.type, _dict(request.properties))
        return provider_pb2.CreateResponse(id=resource_id, properties=_struct(props))

    def Update(self, request: Any, context: Any) -> provider_pb2.UpdateResponse:
        news = _dict(request.news)
        olds = _dict(request.old_inputs) if request.HasField("old_inputs") else _dict(request.olds)
        refused = _refuses(request.type, olds, news)
        if refused:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{request.type}: the cloud refuses to change {', '.join(refused)} on an existing"
                " resource (create-only); replace it instead",
            )
        _, props = self._outputs(request.urn, request.type, news)
        return provider_pb2.UpdateResponse(properties=_struct(props))

    def Read(self, request: Any, context: Any) -> provider_pb2.ReadResponse:
        """The state as stored, with the inputs the real provider reads back taken from it
        (``READ_BACK`` in the substrate's mocks), so a refresh shows the drift it would."""
        fields = read_back().get(request.type, ())
        state, inputs = _dict(request.properties), _dict(request.inputs)
        for key in fields:
            if key in state:
                inputs[key] = state[key]
        return provider_pb2.ReadResponse(
            id=request.id, properties=request.properties, inputs=_struct(inputs)
        )

    def Delete(self, request: Any, context: Any) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    def Invoke(self, request: Any, context: Any) -> provider_pb2.InvokeResponse:
        answer = CALLS.get(request.tok)
        if answer is None:
            failure = provider_pb2.CheckFailure(
                property="", reason=f"the stand-in {self.package} provider has no {request.tok}"
            )
            return provider_pb2.InvokeResponse(failures=[failure])
        result = answer(_revealed(_dict(request.args)), Facts("", self.region or "local"))
        return provider_pb2.InvokeResponse(**{"return": _struct(result)})


def main() -> None:
    package, version = sys.argv[1], sys.argv[2]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(StandIn(package, version), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
