"""The local stage declares what a real Docker engine accepts and reads back.

The first real ``pulumi up`` of the local stage (Docker 20.10, terraform-provider-docker bridged
from source; issue 21) found three things no double had shown: uploads into a read-only root are
refused, an upload owner is looked up in the host's passwd, and capabilities and swap read back
differently from what the program declared, so every refresh replaced the database. The offline
mocks and the stand-in provider now answer as the real one did (components/docker/mocks.py);
these tests hold the blueprint to those answers, and the doubles to the real engine's behaviour.
"""

from __future__ import annotations

import copy
import shutil
from typing import Any

import pytest

from components.docker import mocks
from pipeline.mocks import Facts
from pipeline.render import StageRender
from tests.conftest import PROJECT_DIR, STACKS_DIR, by_type, render

CONTAINER = "docker:index/container:Container"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> StageRender:
    root = tmp_path_factory.mktemp("read-back")
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(STACKS_DIR, root / "stacks")
    stage = render(root / "stacks", "local")["local"]
    assert stage.error is None, stage.error
    return stage


def _read(inputs: dict[str, Any]) -> dict[str, Any]:
    return mocks.RESOURCES[CONTAINER](inputs, Facts("local", "local", "c"))


def test_every_container_is_accepted_by_the_engine(local: StageRender) -> None:
    containers = by_type(local, CONTAINER)
    assert containers
    for container in containers:
        assert mocks.refusals(container["inputs"]) == [], container["urn"]


def test_every_container_reads_back_as_declared(local: StageRender) -> None:
    """No refresh drift: each field the provider reads back equals the program's value."""
    for container in by_type(local, CONTAINER):
        inputs = container["inputs"]
        read = _read(inputs)
        for key in mocks.READ_BACK[CONTAINER]:
            if key in read:
                assert read[key] == inputs.get(key), f"{container['urn']}: {key}"


def test_the_doubles_answer_as_the_real_engine_did() -> None:
    """What the blueprint declared before the fixes is what the engine refused or drifted on."""
    declared = {
        "readOnly": True,
        "memory": 256,
        "capabilities": {"drops": ["ALL"], "adds": ["CHOWN"]},
        "uploads": [{"file": "/run/x/secret", "content": "s", "owner": "10001"}],
    }
    refused = mocks.refusals(declared)
    assert len(refused) == 2
    assert "rootfs is marked read-only" in refused[0] and "getent" in refused[1]
    with pytest.raises(mocks.DockerRefusedError, match="read-only"):
        _read(declared)
    accepted = {k: v for k, v in copy.deepcopy(declared).items() if k != "uploads"}
    read = _read(accepted)
    assert read["capabilities"]["adds"] == ["CAP_CHOWN"]
    assert read["capabilities"]["drops"] == ["ALL"]
    assert read["memorySwap"] == 512
    assert "memorySwap" not in _read({**accepted, "memorySwap": 256})


def test_the_standin_provider_reads_back_what_the_engine_stored() -> None:
    """tools/standin's Read answers with the read-back inputs, so a refresh shows the drift."""
    import sys

    sys.path.insert(0, str(PROJECT_DIR / "tools" / "standin"))
    from google.protobuf import json_format, struct_pb2
    from provider import StandIn
    from pulumi.runtime.proto import provider_pb2

    declared = {"memory": 256, "capabilities": {"drops": ["ALL"], "adds": ["CHOWN"]}}
    stored = {**declared, **_read(declared)}

    def struct(value: dict[str, Any]) -> struct_pb2.Struct:
        message = struct_pb2.Struct()
        json_format.ParseDict(value, message)
        return message

    request = provider_pb2.ReadRequest(
        id="c", urn="urn:pulumi:local::p::" + CONTAINER + "::c", type=CONTAINER,
        properties=struct(stored), inputs=struct(declared),
    )  # fmt: skip
    answer = StandIn("docker", "5.2.0").Read(request, None)
    inputs = json_format.MessageToDict(answer.inputs)
    assert inputs["capabilities"]["adds"] == ["CAP_CHOWN"]
    # Not declared, yet read back (the daemon's default): the next preview updates it.
    assert inputs["memorySwap"] == 512
