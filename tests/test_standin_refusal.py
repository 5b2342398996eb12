"""The engine lane's stand-in provider fails an update the cloud would refuse, as the cloud does.

Driven through its gRPC servicer methods with the protocol's own messages (provider_pb2), the
way the engine calls them; the lane itself runs it under the real engine.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.runtime.proto import provider_pb2

from tests.conftest import PROJECT_DIR

SERVER = "azure-native:dbforpostgresql:Server"
URN = f"urn:pulumi:azure-staging::project::{SERVER}::azure-staging-database"


def _standin() -> Any:
    spec = importlib.util.spec_from_file_location(
        "standin_provider", PROJECT_DIR / "tools" / "standin" / "provider.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.StandIn("azure-native", "3.29.0")


class AbortedError(Exception):
    pass


class Context:
    """What grpc hands a servicer: abort raises, as grpc's does, with the status and message."""

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.code, self.details = code, details
        raise AbortedError(details)


def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def _update(olds: dict[str, Any], news: dict[str, Any]) -> provider_pb2.UpdateRequest:
    return provider_pb2.UpdateRequest(
        id="server-1", urn=URN, type=SERVER, olds=_struct(olds), news=_struct(news),
        old_inputs=_struct(olds),
    )  # fmt: skip


BASE = {"serverName": "db", "backup": {"geoRedundantBackup": "Disabled", "backupRetentionDays": 7}}


def test_a_create_only_nested_field_fails_the_update() -> None:
    standin, context = _standin(), Context()
    news = {**BASE, "backup": {**BASE["backup"], "geoRedundantBackup": "Enabled"}}
    with pytest.raises(AbortedError):
        standin.Update(_update(BASE, news), context)
    assert context.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "backup.geoRedundantBackup" in context.details


def test_an_updatable_field_updates() -> None:
    standin = _standin()
    news = {**BASE, "backup": {**BASE["backup"], "backupRetentionDays": 14}}
    answer = standin.Update(_update(BASE, news), Context())
    assert answer.properties["backup"]["backupRetentionDays"] == 14
