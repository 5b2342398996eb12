"""The docker provider built from source (tools/docker-provider) serves what the local stage uses.

The provider binary is started as the engine starts it and asked over gRPC for its plugin info
and its schema. The local stage is rendered offline (the real program under mocks, as `plan`
does) and every docker resource it declares is walked along the schema: its type token must be
a resource of the schema, and each input it sets, at any depth, must be an input property of the
same camelCase name whose type fits the value. A renamed field (`networksAdvanced`), a dropped
resource or a wrong token fails here before any engine or Docker host is involved.

Without Go (and no earlier build in the cache) the provider cannot be built and the tests are
skipped with that reason (build.sh exit 3); a build that fails with Go present is a failure.
"""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import grpc  # type: ignore[import-untyped]
import pytest
from google.protobuf import empty_pb2  # type: ignore[import-untyped]
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from pipeline.render import SECRET, UNKNOWN_VALUE, StageRender
from tests.conftest import PROJECT_DIR, STACKS_DIR, render

pytestmark = pytest.mark.docker

BUILD = PROJECT_DIR / "tools" / "docker-provider" / "build.sh"
STAGE = "local"
PACKAGE = "docker"
CONTAINER = "docker:index/container:Container"
# Which JSON values a schema primitive accepts (numbers arrive as int when whole, see render).
PRIMITIVES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
}


@pytest.fixture(scope="module")
def provider_binary() -> Path:
    out = subprocess.run([str(BUILD)], capture_output=True, text=True)
    if out.returncode == 3:  # no Go, and no earlier build in the cache
        pytest.skip(f"DOCKER PROVIDER NOT BUILT: {out.stderr.strip()}")
    assert out.returncode == 0, f"{BUILD} failed ({out.returncode}):\n{out.stderr[-4000:]}"
    return Path(out.stdout.strip().splitlines()[-1]) / f"pulumi-resource-{PACKAGE}"


@contextmanager
def served(binary: Path) -> Iterator[provider_pb2_grpc.ResourceProviderStub]:
    """Start the provider as the engine does (it prints its port) and connect to it."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, stderr=log, text=True)
        try:
            assert proc.stdout is not None
            port = proc.stdout.readline().strip()
            if not port.isdigit():
                log.seek(0)
                pytest.fail(f"{binary} printed no port: {port!r} {log.read().decode()[-2000:]}")
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield provider_pb2_grpc.ResourceProviderStub(channel)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@dataclass(frozen=True)
class Served:
    version: str
    schema: dict[str, Any]


@pytest.fixture(scope="module")
def served_provider(provider_binary: Path) -> Served:
    with served(provider_binary) as stub:
        info = stub.GetPluginInfo(empty_pb2.Empty(), timeout=60)
        schema = stub.GetSchema(provider_pb2.GetSchemaRequest(version=0), timeout=120)
    return Served(info.version, json.loads(schema.schema))


@pytest.fixture(scope="module")
def stage() -> StageRender:
    rendered = render(STACKS_DIR, STAGE)[STAGE]
    assert rendered.error is None, rendered.error
    return rendered


@dataclass
class Walk:
    """A walk of rendered inputs along a schema: what was checked, what did not fit."""

    schema: dict[str, Any]
    checked: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)

    def properties(self, where: str, props: dict[str, Any], values: dict[str, Any]) -> None:
        for name, value in values.items():
            spec = props.get(name)
            if spec is None:
                self.problems.append(f"{where}.{name}: no such input in the provider schema")
                continue
            self.value(f"{where}.{name}", spec, value)

    def value(self, where: str, spec: dict[str, Any], value: Any) -> None:
        self.checked.add(where)
        if value in (SECRET, UNKNOWN_VALUE) or value is None:
            return  # masked or not known offline: nothing to compare
        ref = spec.get("$ref")
        if ref is not None:
            self.reference(where, ref, value)
        elif "oneOf" in spec:
            if not any(self.fits(option, value) for option in spec["oneOf"]):
                self.problems.append(f"{where}: {value!r} fits none of {spec['oneOf']}")
        elif spec.get("type") == "array":
            if self.expect(where, value, list, "array"):
                for i, item in enumerate(value):
                    self.value(f"{where}[{i}]", spec["items"], item)
        elif spec.get("type") == "object":
            if self.expect(where, value, dict, "map"):
                for key, item in value.items():
                    self.value(f"{where}[{key!r}]", spec.get("additionalProperties", {}), item)
        elif spec.get("type") in PRIMITIVES:
            self.expect(where, value, PRIMITIVES[spec["type"]], spec["type"])
        else:
            self.problems.append(f"{where}: the walk knows no schema type like {spec}")

    def reference(self, where: str, ref: str, value: Any) -> None:
        if ref.startswith("pulumi.json#/"):
            return  # Any, Asset, Archive, Json: any value
        token = ref.removeprefix("#/types/")
        declared = self.schema.get("types", {}).get(token)
        if declared is None:
            self.problems.append(f"{where}: type {token} is not in the schema")
        elif "enum" in declared:
            allowed = [e["value"] for e in declared["enum"]]
            if value not in allowed:
                self.problems.append(f"{where}: {value!r} is not one of {allowed}")
        elif self.expect(where, value, dict, token):
            self.properties(where, declared.get("properties", {}), value)

    def fits(self, spec: dict[str, Any], value: Any) -> bool:
        trial = Walk(self.schema)
        trial.value("", spec, value)
        return not trial.problems

    def expect(self, where: str, value: Any, kinds: type | tuple[type, ...], name: str) -> bool:
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        # bool is an int in Python; the schema keeps them apart.
        if isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool)):
            return True
        self.problems.append(f"{where}: {value!r} is not a {name}")
        return False


def test_version_is_the_sdk_pin(served_provider: Served) -> None:
    """The engine asks for the plugin the SDK names in pulumi-plugin.json; the binary is it."""
    manifest = json.loads((resources.files("pulumi_docker") / "pulumi-plugin.json").read_text())
    assert served_provider.version == manifest["version"]
    assert served_provider.schema["name"] == manifest["name"] == PACKAGE


def test_every_docker_resource_of_the_stage_fits_the_schema(
    served_provider: Served, stage: StageRender
) -> None:
    declared = {r["type"] for r in stage.resources if r["type"].startswith(f"{PACKAGE}:")}
    assert CONTAINER in declared, f"the {STAGE} stage declares no {CONTAINER}"
    walk = walk_stage(served_provider.schema, stage)
    # Nested inputs were reached too (e.g. a container's uploads[0].file).
    assert any("]." in where for where in walk.checked), sorted(walk.checked)
    assert not walk.problems, "\n".join(walk.problems)


def walk_stage(schema: dict[str, Any], stage: StageRender) -> Walk:
    """Every docker resource of the stage along the schema."""
    walk = Walk(schema)
    for res in stage.resources:
        if not res["type"].startswith(f"{PACKAGE}:"):
            continue
        spec = schema["resources"].get(res["type"])
        if spec is None:
            walk.problems.append(f"{res['urn']}: {res['type']} is not a resource of the schema")
            continue
        walk.properties(res["urn"], spec.get("inputProperties", {}), res["inputs"])
    return walk


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("input", ("resources", CONTAINER, "inputProperties", "networksAdvanced")),
        (
            "nested input",
            ("types", "docker:index/ContainerUpload:ContainerUpload", "properties", "file"),
        ),
        ("resource", ("resources", CONTAINER)),
    ],
)
def test_a_renamed_name_fails_the_walk(
    served_provider: Served, stage: StageRender, kind: str, path: tuple[str, ...]
) -> None:
    """The check can fail: the served schema with one name changed no longer fits the stage."""
    schema = copy.deepcopy(served_provider.schema)
    *parents, name = path
    holder = functools.reduce(lambda node, key: node[key], parents, schema)
    assert name in holder, f"the served schema has no {'/'.join(path)} ({kind})"
    holder[f"{name}Renamed"] = holder.pop(name)
    problems = walk_stage(schema, stage).problems
    assert any(name in problem for problem in problems), f"renaming the {kind} {name} went unseen"
