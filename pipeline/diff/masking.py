"""Keep secret values out of every line ``diff`` prints, without touching anything else.

The renderer already turns secret Outputs into ``[secret]`` and ``secure:`` config into unknowns.
This is the second line of defence: the secret values of both revisions' stack files (every
``secure:`` ciphertext, and every value under ``stageline:secrets``, which holds only secrets) are
masked *structurally*: in the plans' data, before any output is formatted, a string that is a
secret becomes ``[secret]`` and a string that embeds one has that part replaced. Numbers, booleans
and the other values of a key that merely holds one secure value are left alone, so every format
(table, Markdown, JSON) stays valid whatever the values are, and a plain tag equal to the project's
name masks nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from components.spec.bounded import read_yaml
from components.spec.loader import PROJECT, SpecError

MASK = "[secret]"
MIN_LENGTH = 4
"""Shorter values are not masked: they would blank out unrelated text and are not credentials."""
SECRETS_KEYS = frozenset({"secrets", f"{PROJECT}:secrets"})
"""Config keys whose every value is a secret (the app secrets map)."""


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            yield str(value["secure"])
            return
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif value is not None:
        yield str(value)


def _secure(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            yield str(value["secure"])
            return
        for item in value.values():
            yield from _secure(item)
    elif isinstance(value, list):
        for item in value:
            yield from _secure(item)


def secrets_in(docs: Iterable[Any]) -> set[str]:
    """Secret values in parsed stack files (their ``config``: secure values, app secrets)."""
    found: set[str] = set()
    for doc in docs:
        config = doc.get("config") if isinstance(doc, dict) else None
        if not isinstance(config, dict):
            continue
        for key, value in config.items():
            found.update(_leaves(value) if str(key) in SECRETS_KEYS else _secure(value))
    return {v for v in found if len(v) >= MIN_LENGTH}


def secret_values(stacks_dir: Path) -> set[str]:
    """Secret values in the stack files of ``stacks_dir`` (unreadable files are skipped)."""
    docs = []
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")):
        try:
            docs.append(read_yaml(path, "config"))
        except SpecError:
            # A file that does not parse (or is past the bounds) cannot be rendered either; the
            # bounds check before rendering refuses it, and its text is never printed.
            continue
    return secrets_in(docs)


class Masker:
    """Replaces known secret values: structurally in JSON-like data, by substring in text."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._exact = {v for v in values if len(v) >= MIN_LENGTH}
        forms = set(self._exact)
        forms.update(json.dumps(v)[1:-1] for v in self._exact)  # as inside a JSON string
        self._values = sorted(forms, key=len, reverse=True)

    def text(self, text: str) -> str:
        """Plain text (an error message): every occurrence of a secret is replaced."""
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def _string(self, value: str) -> str:
        if value in self._exact:
            return MASK
        for secret in self._values:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        """A copy of ``value`` with secrets masked in strings (keys included); structure kept."""
        if isinstance(value, str):
            return self._string(value)
        if isinstance(value, dict):
            return {self._string(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value
