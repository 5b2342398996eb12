"""Which input changes make a provider replace a resource (delete, create) instead of updating it.

The knowledge is data, one table per substrate: ``components/<substrate>/replacement.yaml``, each
with its provenance (the provider schema the flags were read from). Paths are engine names
(camelCase), dotted for nested blocks, without list indices. A changed path *forces*
replacement when it is at or below a listed path (``runtimePlatform.cpuArchitecture`` under
``runtimePlatform``), or above one (a whole block that appears or goes away).

The API is small and pure, so stand-in providers can use it too::

    replaces("aws:ecs/taskDefinition:TaskDefinition", ["containerDefinitions[0].image"])  # True
    forcing_paths(type_token, changed_paths, ignore_changes=()) -> the changed paths that force it
    ignored(path, ignore_changes) -> whether the engine keeps the old value there
    refusing_paths(type_token, changed_paths, ignore_changes=()) -> the changed paths the
        provider sends as an update that the cloud refuses (``refusedOnUpdate``: create-only
        fields the provider does not replace on, such as azure-native's nested ones)
    is_stateful(type_token) -> whether a replacement loses data or identity
    known_types() -> every type token the tables cover

Importing this module reads nothing; the tables load on first use and are cached. An unknown
type token replaces on no change (the engine's default for a provider that says nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

SUBSTRATES = ("aws", "azure", "docker")
_HERE = Path(__file__).resolve().parent
_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Replacement:
    """What one type's provider replaces on."""

    type_token: str
    paths: frozenset[str]
    stateful: bool
    source: str
    checked: str = ""
    """``owner/repo@commit`` whose resource file the flags were read from, or ``recalled``."""
    refused: frozenset[str] = frozenset()
    """Paths the provider updates in place but the cloud refuses to change (create-only there)."""


def table_file(substrate: str) -> Path:
    return _HERE / substrate / "replacement.yaml"


@cache
def tables() -> Mapping[str, Replacement]:
    """Every substrate's table, by type token."""
    out: dict[str, Replacement] = {}
    for substrate in SUBSTRATES:
        doc = yaml.safe_load(table_file(substrate).read_text(encoding="utf-8"))
        for token, entry in (doc.get("types") or {}).items():
            out[token] = Replacement(
                token,
                frozenset(entry.get("replaceOnChanges") or ()),
                bool(entry.get("stateful", False)),
                str(entry.get("source", "")),
                str(entry.get("checked", "")),
                frozenset(entry.get("refusedOnUpdate") or ()),
            )
    return out


def provenance(substrate: str) -> Mapping[str, str]:
    """The ``provenance`` block of a substrate's table."""
    doc = yaml.safe_load(table_file(substrate).read_text(encoding="utf-8"))
    return dict(doc.get("provenance") or {})


def known_types() -> frozenset[str]:
    return frozenset(tables())


def is_stateful(type_token: str) -> bool:
    """Whether replacing (or deleting) this type loses data or identity."""
    entry = tables().get(type_token)
    return bool(entry and entry.stateful)


def _plain(path: str) -> str:
    # Flattened inputs index lists (``volumes[0].name``); the table does not.
    return _INDEX.sub("", path.removeprefix("inputs."))


def _forces(listed: str, changed: str) -> bool:
    return changed == listed or changed.startswith(listed + ".") or listed.startswith(changed + ".")


def ignored(path: str, ignore_changes: Iterable[str]) -> bool:
    """Whether a changed input path falls under the resource's ``ignoreChanges`` option: the
    engine keeps the old value there before it asks the provider to diff, so it never forces
    anything (Pulumi docs, resource option ignoreChanges)."""
    plain = _plain(path)
    for listed in ignore_changes:
        root = _INDEX.sub("", listed.replace("[*]", ""))
        if plain == root or plain.startswith(root + "."):
            return True
    return False


def _matching(
    listed: Iterable[str], changed_paths: Iterable[str], ignore_changes: Iterable[str]
) -> tuple[str, ...]:
    ignore = tuple(ignore_changes)
    wanted = tuple(listed)
    found = []
    for path in changed_paths:
        if path.startswith("options."):
            continue  # resource options are the engine's, not the provider's
        if ignored(path, ignore):
            continue
        plain = _plain(path)
        if any(_forces(item, plain) for item in wanted):
            found.append(path)
    return tuple(sorted(found))


def forcing_paths(
    type_token: str, changed_paths: Iterable[str], ignore_changes: Iterable[str] = ()
) -> tuple[str, ...]:
    """The changed paths (as given) that make the provider replace this resource."""
    entry = tables().get(type_token)
    if entry is None:
        return ()
    return _matching(entry.paths, changed_paths, ignore_changes)


def refusing_paths(
    type_token: str, changed_paths: Iterable[str], ignore_changes: Iterable[str] = ()
) -> tuple[str, ...]:
    """The changed paths (as given) the provider sends as an update that the cloud refuses:
    the preview shows an update and ``up`` fails, so only an explicit replace changes them."""
    entry = tables().get(type_token)
    if entry is None:
        return ()
    return _matching(entry.refused, changed_paths, ignore_changes)


def replaces(
    type_token: str, changed_property_paths: Iterable[str], ignore_changes: Iterable[str] = ()
) -> bool:
    """Whether changing these input paths makes the provider replace a ``type_token``."""
    return bool(forcing_paths(type_token, changed_property_paths, ignore_changes))
