"""Drive our own providers' servicers directly with protobuf requests, as the engine would."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime.proto import provider_pb2

from tools.providers import random_provider, tls_provider
from tools.providers.wire import SECRET_SIG, SIG, Provider


class AbortedError(Exception):
    """What `context.abort` raises: the gRPC status the engine would see."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code


class Context:
    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise AbortedError(code, details)


def struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def plain(message: struct_pb2.Struct) -> dict[str, Any]:
    """A response's properties with secrets revealed, and which keys were secret."""
    return {k: v["value"] if is_secret(v) else v for k, v in as_dict(message).items()}


def as_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    return json_format.MessageToDict(message)


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SIG) == SECRET_SIG


def secret(value: Any) -> dict[str, Any]:
    return {SIG: SECRET_SIG, "value": value}


class Driver:
    """One provider and the calls the engine makes, by type token."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.context = Context()

    def check(self, token: str, news: dict[str, Any]) -> provider_pb2.CheckResponse:
        request = provider_pb2.CheckRequest(urn=urn(token), type=token, news=struct(news))
        return self.provider.Check(request, self.context)

    def create(self, token: str, inputs: dict[str, Any]) -> provider_pb2.CreateResponse:
        request = provider_pb2.CreateRequest(urn=urn(token), type=token, properties=struct(inputs))
        return self.provider.Create(request, self.context)

    def diff(
        self, token: str, state: struct_pb2.Struct, old_inputs: dict[str, Any], news: dict[str, Any]
    ) -> provider_pb2.DiffResponse:
        fields = _change(token, state, old_inputs, news)
        return self.provider.Diff(provider_pb2.DiffRequest(**fields), self.context)

    def read(self, token: str, created: provider_pb2.CreateResponse, inputs: dict[str, Any]):
        request = provider_pb2.ReadRequest(
            urn=urn(token),
            type=token,
            id=created.id,
            properties=created.properties,
            inputs=struct(inputs),
        )
        return self.provider.Read(request, self.context)

    def update(
        self, token: str, state: struct_pb2.Struct, old_inputs: dict[str, Any], news: dict[str, Any]
    ) -> provider_pb2.UpdateResponse:
        fields = _change(token, state, old_inputs, news)
        return self.provider.Update(provider_pb2.UpdateRequest(**fields), self.context)


def _change(
    token: str, state: struct_pb2.Struct, old_inputs: dict[str, Any], news: dict[str, Any]
) -> dict[str, Any]:
    """The fields a Diff and an Update request share: the stored state, old and new inputs."""
    return {
        "urn": urn(token),
        "type": token,
        "id": "x",
        "olds": state,
        "old_inputs": struct(old_inputs),
        "news": struct(news),
    }


def urn(token: str) -> str:
    return f"urn:pulumi:dev::project::{token}::thing"


@pytest.fixture(scope="session")
def random() -> Driver:
    return Driver(random_provider.provider())


@pytest.fixture(scope="session")
def tls() -> Driver:
    return Driver(tls_provider.provider())
