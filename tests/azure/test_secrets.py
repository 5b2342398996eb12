"""App secrets on Azure: Key Vault secrets, read by the services through Key Vault references."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.render import SECRET
from tests.azure.conftest import one
from tests.conftest import by_type, edit_stack, render


def test_app_secrets_are_key_vault_references(stacks_copy: Path) -> None:
    def add_secret(config: dict[str, Any]) -> None:
        config["stageline:secrets"] = {"apiKey": {"secure": "v1:c2VjcmV0LXZhbHVl"}}

    edit_stack(stacks_copy, "azure-dev", add_secret)
    dev = render(stacks_copy, "azure-dev")["azure-dev"]
    assert dev.error is None, dev.error
    secret = one(dev, "azure-native:keyvault:Secret")
    assert secret["inputs"]["properties"]["value"] == SECRET, f"{secret['urn']} must stay secret"
    assert secret["inputs"]["secretName"] == "app-secret-apikey", secret["urn"]
    vault_name = one(dev, "azure-native:keyvault:Vault")["inputs"]["vaultName"]
    uri = f"https://{vault_name}.vault.azure.net/secrets/app-secret-apikey"
    for app in by_type(dev, "azure-native:app:ContainerApp"):
        configuration = app["inputs"]["configuration"]
        identity = app["inputs"]["identity"]["userAssignedIdentities"][0]
        assert configuration["secrets"] == [
            {"name": "app-secret-apikey", "keyVaultUrl": uri, "identity": identity}
        ], app["urn"]
        env = {e["name"]: e for e in app["inputs"]["template"]["containers"][0]["env"]}
        assert env["APP_SECRET_APIKEY"] == {
            "name": "APP_SECRET_APIKEY",
            "secretRef": "app-secret-apikey",
        }, app["urn"]
