"""The same role interface on both clouds: component attributes and stack outputs."""

from __future__ import annotations

import pytest

from components import roles
from components.aws.database import Database as AwsDatabase
from components.aws.keys import Keys as AwsKeys
from components.aws.logs import Logs as AwsLogs
from components.aws.network import Network as AwsNetwork
from components.aws.registry import Registry as AwsRegistry
from components.aws.services import Services as AwsServices
from components.aws.storage import Storage as AwsStorage
from components.azure.database import Database as AzureDatabase
from components.azure.keys import Keys as AzureKeys
from components.azure.logs import Logs as AzureLogs
from components.azure.network import Network as AzureNetwork
from components.azure.registry import Registry as AzureRegistry
from components.azure.services import Services as AzureServices
from components.azure.storage import Storage as AzureStorage
from pipeline.render import StageRender
from tests.conftest import STACKS_DIR, render

CASES = [
    (roles.NetworkRole, AwsNetwork, AzureNetwork),
    (roles.KeysRole, AwsKeys, AzureKeys),
    (roles.LogsRole, AwsLogs, AzureLogs),
    (roles.RegistryRole, AwsRegistry, AzureRegistry),
    (roles.DatabaseRole, AwsDatabase, AzureDatabase),
    (roles.StorageRole, AwsStorage, AzureStorage),
    (roles.ServicesRole, AwsServices, AzureServices),
]


@pytest.mark.parametrize(("role", "aws", "azure"), CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_both_substrates_declare_the_role_attributes(role: type, aws: type, azure: type) -> None:
    # Annotations as written (postponed evaluation): the same text means the same type.
    wanted = role.__annotations__
    assert wanted, role
    for component in (aws, azure):
        declared = component.__annotations__
        for attribute, kind in wanted.items():
            assert declared.get(attribute) == kind, f"{component.__module__}.{attribute}"


def test_stack_outputs_have_the_same_keys_and_kinds(stages: dict[str, StageRender]) -> None:
    aws = render(STACKS_DIR, "dev")["dev"]
    azure = stages["azure-dev"]
    assert aws.error is None and azure.error is None
    assert set(aws.outputs) == set(azure.outputs)
    for key, value in aws.outputs.items():
        other = azure.outputs[key]
        assert type(value) is type(other), key
        if isinstance(value, dict):
            assert set(value) == set(other), key
