"""Each stack file names its secrets provider, of its substrate's kind, in a form the CLI takes."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from components.spec import SpecError, read_stack
from components.spec.schema import stack_file_schema
from tests.conftest import STACKS_DIR

STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in STACKS_DIR.glob("Pulumi.*.yaml"))
# The project's convention (docs/secrets.md): each stage's secrets sit in its own cloud's key
# service, so the credentials that deploy a stage also decrypt it; Docker has none: a passphrase.
KIND = {"aws": "awskms", "azure": "azurekeyvault", "docker": "passphrase"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_file_names_a_provider_of_its_substrate(stack: str) -> None:
    config = read_stack(STACKS_DIR, stack)
    cloud = config.spec().identity.cloud
    assert config.secrets_provider, f"Pulumi.{stack}.yaml names no secretsprovider"
    assert config.secrets_provider_kind == KIND[str(cloud)], (stack, config.secrets_provider)


@pytest.mark.parametrize("stack", STACKS)
def test_aws_keys_live_in_the_stages_region(stack: str) -> None:
    config = read_stack(STACKS_DIR, stack)
    if config.secrets_provider_kind != "awskms":
        pytest.skip("not an AWS KMS provider")
    # Without ?region= the CLI uses the ambient AWS region, which need not be the stage's.
    assert config.secrets_provider.endswith(f"?region={config.region}"), config.secrets_provider


def test_each_stage_has_its_own_key() -> None:
    providers = [read_stack(STACKS_DIR, s).secrets_provider for s in STACKS]
    cloud = [p for p in providers if p != "passphrase"]
    assert len(cloud) == len(set(cloud)), providers


@pytest.mark.parametrize(
    "value",
    [
        "awskms://alias/pulumi-secrets/dev?region=eu-west-1",
        "awskms:///arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "azurekeyvault://myvault.vault.azure.net/keys/mykey",
        "azurekeyvault://pulumi-secrets-example.vault.azure.net/keys/azure-dev",
        "azurekeyvault://a1-b2-c3-d4-e5-f6-g7-h8x.vault.azure.net/keys/k",  # 24 characters
        "passphrase",
        "default",
    ],
)
def test_forms_the_cli_accepts_are_accepted(stacks_copy: Path, value: str) -> None:
    path = stacks_copy / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["secretsprovider"] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert read_stack(stacks_copy, "dev").secrets_provider == value
    jsonschema.validate(doc, stack_file_schema())


@pytest.mark.parametrize(
    "value",
    [
        "kms://alias/x",
        "azurekeyvault://myvault/keys/k",
        "awskms://",
        42,
        ["passphrase"],
        # Names Azure refuses (VaultNameNotValid): too short, too long, not starting with a
        # letter, ending with a hyphen, consecutive hyphens, an underscore.
        "azurekeyvault://kv.vault.azure.net/keys/k",
        "azurekeyvault://a1-b2-c3-d4-e5-f6-g7-h8xy.vault.azure.net/keys/k",
        "azurekeyvault://1vault.vault.azure.net/keys/k",
        "azurekeyvault://vault-.vault.azure.net/keys/k",
        "azurekeyvault://my--vault.vault.azure.net/keys/k",
        "azurekeyvault://my_vault.vault.azure.net/keys/k",
    ],
)
def test_a_provider_the_cli_would_refuse_names_file_and_key(
    stacks_copy: Path, value: object
) -> None:
    path = stacks_copy / "Pulumi.dev.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["secretsprovider"] = value
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(SpecError) as caught:
        read_stack(stacks_copy, "dev")
    assert caught.value.source.endswith("Pulumi.dev.yaml")
    assert [p.key for p in caught.value.problems] == ["secretsprovider"]
    if isinstance(value, str):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, stack_file_schema())


def test_shipped_stack_files_match_the_schema() -> None:
    schema = stack_file_schema()
    for stack in STACKS:
        doc = yaml.safe_load((STACKS_DIR / f"Pulumi.{stack}.yaml").read_text())
        jsonschema.validate(doc, schema)
