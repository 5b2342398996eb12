"""The plugins as the engine starts them: a process that prints its port and answers over gRPC."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.providers.conftest import as_dict, is_secret, struct
from tools.providers.install import PLUGINS


@pytest.fixture(params=PLUGINS, ids=lambda plugin: plugin.name)
def stub(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[str, provider_pb2_grpc.ResourceProviderStub]]:
    plugin = request.param
    process = subprocess.Popen(
        [sys.executable, str(plugin.module), "127.0.0.1:1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield plugin.name, provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_plugin_answers_over_grpc(stub: tuple[str, provider_pb2_grpc.ResourceProviderStub]) -> None:
    name, provider = stub
    version = provider.GetPluginInfo(empty_pb2.Empty(), timeout=30).version
    assert version == {"random": "4.21.4", "tls": "5.6.2"}[name]
    provider.Configure(provider_pb2.ConfigureRequest(acceptSecrets=True), timeout=30)
    if name == "random":
        token, inputs, secret_key = (
            "random:index/randomPassword:RandomPassword",
            {"length": 10},
            "result",
        )
    else:
        token, inputs, secret_key = (
            "tls:index/privateKey:PrivateKey",
            {"algorithm": "ED25519"},
            "privateKeyPem",
        )
    created = provider.Create(
        provider_pb2.CreateRequest(
            urn=f"urn:pulumi:dev::p::{token}::n", type=token, properties=struct(inputs)
        ),
        timeout=30,
    )
    assert created.id and is_secret(as_dict(created.properties)[secret_key])
    with pytest.raises(grpc.RpcError) as refused:
        provider.Create(
            provider_pb2.CreateRequest(urn="urn:x", type=f"{name}:index/nope:Nope"), timeout=30
        )
    assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
