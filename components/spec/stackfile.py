"""Read a stack file into the flat config map that the Pulumi CLI hands to a program.

Mirrors the CLI: project-level config from ``Pulumi.yaml`` first, the stack file over it; keys
without a namespace belong to the project; objects travel as JSON strings. ``secure:`` values are
never decrypted: they become the engine's *unknown* marker and their keys are listed as secret.
The file's ``secretsprovider:`` (which key encrypts its ``secure:`` values) is read and its form
checked, never used: nothing here decrypts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.spec.bounded import read_yaml
from components.spec.loader import PROJECT, UNKNOWN, Problem, SpecError, load_spec, region_of
from components.spec.model import StageSpec


@dataclass(frozen=True)
class StackConfig:
    """One stack's config as the CLI would pass it (``PULUMI_CONFIG``)."""

    stack: str
    source: str
    values: dict[str, str]
    secret_keys: tuple[str, ...]
    secrets_provider: str = ""
    """The stack file's ``secretsprovider:`` as written; empty when it names none."""

    @property
    def secrets_provider_kind(self) -> str:
        """``awskms``, ``azurekeyvault``, ``passphrase``, ...; empty when none is named."""
        return secrets_provider_kind(self.secrets_provider)

    @property
    def region(self) -> str:
        return region_of(self.values) or ""

    def spec(self) -> StageSpec:
        return load_spec(
            self.values, stack=self.stack, source=self.source, secret_keys=self.secret_keys
        )


# The forms the Pulumi CLI accepts for a stack's secrets provider (`pulumi stack init
# --secrets-provider`, docs "pulumi stack change-secrets-provider"): the two built-in names, or a
# gocloud.dev keeper URL. awskms takes a key id, alias or ARN (host + path, ?region=...);
# azurekeyvault a key URL below https://<vault>.vault.azure.net (gocloud.dev's keyIDRE), the
# vault named as Azure allows (VaultNameNotValid: 3-24 letters, digits and hyphens, beginning
# with a letter, ending with a letter or digit, no consecutive hyphens; Microsoft Learn, Key
# Vault "Common error codes").
KEY_VAULT_NAME = r"[A-Za-z](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){2,23}"
SECRETS_PROVIDER = re.compile(
    r"default|passphrase"
    r"|awskms://[^\s]+"
    rf"|azurekeyvault://{KEY_VAULT_NAME}\.vault\.[a-z0-9.-]+/keys/[^\s]+"
    r"|gcpkms://projects/[^\s]+|hashivault://[^\s]+"
)


def secrets_provider_kind(provider: str) -> str:
    """The provider's type as the CLI names it: the URL scheme, or the built-in name."""
    return provider.split("://", 1)[0] if provider else ""


def stack_file(stacks_dir: Path, stack: str) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def _read_yaml(path: Path, what: str) -> Any:
    return read_yaml(path, what, _display(path))


def _desecure(value: Any) -> tuple[Any, bool]:
    """Replace every ``{secure: ...}`` with the unknown marker; report whether there was one."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return UNKNOWN, True
        found = False
        out = {}
        for k, v in value.items():
            out[k], inner = _desecure(v)
            found = found or inner
        return out, found
    if isinstance(value, list):
        items = [_desecure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def _encode(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _qualify(key: str) -> str:
    return key if ":" in key else f"{PROJECT}:{key}"


def project_defaults(project_file: Path) -> dict[str, Any]:
    """Project-level config values and declared defaults from ``Pulumi.yaml``."""
    doc = _read_yaml(project_file, "config")
    out: dict[str, Any] = {}
    for key, decl in ((doc or {}).get("config") or {}).items():
        if isinstance(decl, dict) and ("default" in decl or "value" in decl):
            out[_qualify(key)] = decl.get("value", decl.get("default"))
        elif not isinstance(decl, dict):
            out[_qualify(key)] = decl
    return out


def read_stack(stacks_dir: Path, stack: str, project_file: Path | None = None) -> StackConfig:
    """The config the CLI would pass for ``stack``; raises SpecError naming the file."""
    path = stack_file(stacks_dir, stack)
    doc = _read_yaml(path, "config")
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise SpecError(str(path), [Problem("config", "expected a mapping at the top level")])
    provider = doc.get("secretsprovider", "")
    if not isinstance(provider, str) or (provider and not SECRETS_PROVIDER.fullmatch(provider)):
        raise SpecError(
            str(path),
            [
                Problem(
                    "secretsprovider",
                    f"{provider!r} is not a secrets provider the Pulumi CLI accepts (passphrase,"
                    " default, awskms://KEY?region=R, azurekeyvault://VAULT.vault.azure.net/keys/K,"
                    " gcpkms://..., hashivault://...)",
                )
            ],
        )
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise SpecError(str(path), [Problem("config", "expected a mapping of keys to values")])
    project_file = project_file or stacks_dir.parent / "Pulumi.yaml"
    merged = project_defaults(project_file) if project_file.exists() else {}
    merged.update({_qualify(str(k)): v for k, v in config.items()})
    values: dict[str, str] = {}
    secret: list[str] = []
    for key, raw in merged.items():
        value, is_secret = _desecure(raw)
        values[key] = _encode(value)
        if is_secret:
            secret.append(key)
    return StackConfig(stack, _display(path), values, tuple(sorted(secret)), provider)


def _display(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
