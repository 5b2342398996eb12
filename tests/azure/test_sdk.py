"""The SDK modules the Azure blueprint uses, and the mocks that answer for them."""

from __future__ import annotations

import importlib
import re

from components.azure import mocks as azure_mocks
from pipeline.render import StageRender

# Default modules of pulumi-azure-native 3.29.0 whose default API version is a preview one, with
# no stable alternative in the SDK (docs/azure.md). The test fails when that changes, so the list
# only shrinks.
KNOWN_PREVIEW = {
    "azure-native:app:ContainerApp",
    "azure-native:app:ManagedEnvironment",
    "azure-native:containerregistry:Registry",
}
API_VERSION = re.compile(r"Uses Azure REST API version ([0-9a-z-]+)")


def _api_version(type_token: str) -> str:
    _, module, name = type_token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    found = API_VERSION.search(cls.__init__.__doc__ or cls.__doc__ or "")
    if found is None:
        source = importlib.import_module(cls.__module__).__file__ or ""
        with open(source, encoding="utf-8") as handle:
            found = API_VERSION.search(handle.read())
    assert found, type_token
    return found.group(1)


def test_default_api_versions_are_stable_except_the_known_ones(
    stages: dict[str, StageRender],
) -> None:
    used = {r["type"] for r in stages["azure-dev"].resources if r["custom"]}
    versions = {token: _api_version(token) for token in sorted(used)}
    preview = {token for token, version in versions.items() if "preview" in version}
    assert preview == KNOWN_PREVIEW, versions


def test_every_type_and_invoke_used_has_a_mock(stages: dict[str, StageRender]) -> None:
    used = {r["type"] for render in stages.values() for r in render.resources if r["custom"]}
    assert used <= set(azure_mocks.RESOURCES), used - set(azure_mocks.RESOURCES)
    arm = re.compile(
        rf"^/subscriptions/{azure_mocks.SUBSCRIPTION}/resourceGroups/[a-z0-9-]+"
        r"(/providers/[A-Za-z.]+(/[A-Za-z]+/[A-Za-z0-9.-]+)+)?$"
    )
    for resource in stages["azure-live"].resources:
        for key in ("managedEnvironmentId", "scope"):
            value = resource["inputs"].get(key)
            if isinstance(value, str):
                assert arm.match(value), f"{resource['urn']}: {key}={value}"
