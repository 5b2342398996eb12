"""One-property changes to a rendered graph, and the check that exactly one rule fires.

Shared by the AWS, Azure and Docker rule tests: a compliant baseline, one change, one finding.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Change = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True)
class Case:
    """One failing fixture: a change to a compliant stage and the one finding it must cause."""

    id: str
    policy: str
    change: Change
    message: str
    urn: str
    """Name of the resource the finding must point at (URN suffix)."""
    stage: str = "live"
    enforcement: str = "mandatory"


def resource(resources: list[dict[str, Any]], type_token: str, suffix: str) -> dict[str, Any]:
    found = [r for r in resources if r["type"] == type_token and r["name"].endswith(suffix)]
    assert len(found) == 1, f"expected one {type_token} named *{suffix}, found {len(found)}"
    return found[0]


def _walk(target: Any, keys: list[str], create: bool) -> Any:
    for key in keys:
        if key.isdigit():
            target = target[int(key)]
        else:
            target = target.setdefault(key, {}) if create else target[key]
    return target


def set_input(type_token: str, suffix: str, path: str, value: Any) -> Change:
    """Set one input (dotted path; digits index lists) of one resource; a callable ``value``
    gets the current value and returns the new one."""

    def change(resources: list[dict[str, Any]]) -> None:
        *parents, last = path.split(".")
        target = _walk(resource(resources, type_token, suffix)["inputs"], parents, create=True)
        key: Any = int(last) if isinstance(target, list) else last
        current = target[key] if isinstance(target, list) else target.get(key)
        target[key] = value(current) if callable(value) else value

    return change


def drop_input(type_token: str, suffix: str, path: str) -> Change:
    """Remove one input (dotted path) of one resource."""

    def change(resources: list[dict[str, Any]]) -> None:
        *parents, last = path.split(".")
        del _walk(resource(resources, type_token, suffix)["inputs"], parents, create=False)[last]

    return change


def set_option(type_token: str, suffix: str, option: str, value: Any) -> Change:
    """Set one resource option (protect, retainOnDelete, ...) of one resource."""

    def change(resources: list[dict[str, Any]]) -> None:
        resource(resources, type_token, suffix)["options"][option] = value

    return change


def seen(diagnostics: list[Any]) -> list[tuple[str, str, str, str]]:
    return [(d.policy, d.enforcement, d.urn, d.message) for d in diagnostics]


def assert_only(
    diagnostics: list[Any], policy: str, urn: str, message: str, enforcement: str
) -> None:
    """Exactly ``policy`` fired, on ``urn``, saying ``message``, at ``enforcement``."""
    found = seen(diagnostics)
    assert diagnostics, f"{policy} did not fire for {urn}"
    assert {d.policy for d in diagnostics} == {policy}, f"{urn}: {found}"
    match = [d for d in diagnostics if d.urn.endswith(f"::{urn}") and message in d.message]
    assert match, f"no finding on {urn} saying {message!r}: {found}"
    assert all(d.enforcement == enforcement for d in match), f"{urn}: {found}"
