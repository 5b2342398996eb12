"""Keep secret values out of every line ``diff`` prints.

The renderer already turns secret Outputs into ``[secret]`` and ``secure:`` config into unknowns.
This is the second line of defence: every ``secure:`` ciphertext in the stack files of both
revisions, and every other value under a config key that holds one (the keys Pulumi lists as
secret), is replaced by ``[secret]`` wherever it turns up: resource inputs, policy messages,
error output of a revision that failed to render.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from components.spec.bounded import read_yaml
from components.spec.loader import SpecError

MASK = "[secret]"
MIN_LENGTH = 4
"""Shorter values are not masked: they would blank out unrelated text and are not credentials."""


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
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


def secret_values(stacks_dir: Path) -> set[str]:
    """Secret values in the stack files of ``stacks_dir`` (unreadable files are skipped)."""
    found: set[str] = set()
    for path in sorted(stacks_dir.glob("Pulumi.*.yaml")):
        try:
            doc = read_yaml(path, "config")
        except SpecError:
            # A file that does not parse (or is past the bounds) cannot be rendered either; the
            # bounds check before rendering refuses it, and its text is never printed.
            continue
        config = doc.get("config") if isinstance(doc, dict) else None
        if not isinstance(config, dict):
            continue
        for value in config.values():
            if any(True for _ in _secure(value)):
                found.update(_leaves(value))
    return {v for v in found if len(v) >= MIN_LENGTH}


class Masker:
    """Replaces known secret values in text and in JSON-like data."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for value in values:
            if len(value) < MIN_LENGTH:
                continue
            forms.add(value)
            forms.add(json.dumps(value)[1:-1])  # as it appears inside a JSON string
        self._values = sorted(forms, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        return text

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        return value
