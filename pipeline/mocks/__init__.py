"""Mocks for the offline renderer: each substrate answers per type token with realistic outputs.

A substrate module exposes ``RESOURCES`` (type token -> function of (inputs, facts) returning the
provider-computed outputs) and ``CALLS`` (invoke token -> function of (args, facts)). Inputs are
echoed back as outputs, as a provider would for the properties it was given.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi

from components import substrates

Outputs = Callable[[dict[str, Any], "Facts"], dict[str, Any]]


@dataclass(frozen=True)
class Facts:
    """What a cloud would know: account, region, and a stable id for this resource."""

    stack: str
    region: str
    name: str = ""
    account_id: str = "123456789012"

    @property
    def suffix(self) -> str:
        # Derived from the name without its stack prefix, so the same resource in two stages
        # gets the same suffix and references compare equal once the stack name is normalized.
        base = self.name.removeprefix(f"{self.stack}-")
        return hashlib.sha256(base.encode()).hexdigest()[:8]

    @property
    def physical(self) -> str:
        """An auto-generated physical name, as Pulumi's auto-naming would make it."""
        return f"{self.name}-{self.suffix}"[:63]


Tables = tuple[dict[str, Outputs], dict[str, Outputs]]
_TABLES: dict[str, Tables] = {}


def tables(substrate: str | None = None) -> Tables:
    """(RESOURCES, CALLS) of one registered substrate, or of every one (None), each imported on
    first use: a substrate's mocks module lives in its package, whose import loads its SDK, so
    an AWS stage must not pay for Docker's and Azure's (a third of a second of the fork
    server's start)."""
    registry = substrates.registry()
    names = list(registry) if substrate is None else [substrate]
    resources: dict[str, Outputs] = {}
    calls: dict[str, Outputs] = {}
    for name in names:
        if name not in _TABLES and name in registry:
            _TABLES[name] = registry[name].mock_tables()
        found = _TABLES.get(name, ({}, {}))
        resources.update(found[0])
        calls.update(found[1])
    return resources, calls


def read_back() -> dict[str, tuple[str, ...]]:
    """Every substrate's ``READ_BACK``: by type, the inputs a refresh takes from what the
    provider read (the stand-in provider's Read answers with them, as the real one does)."""
    found: dict[str, tuple[str, ...]] = {}
    for info in substrates.registry().values():
        module = importlib.import_module(info.mocks)
        found.update(getattr(module, "READ_BACK", {}))
    return found


def __getattr__(name: str) -> dict[str, Outputs]:
    """``RESOURCES`` and ``CALLS``: every registered substrate's answers, for the tools that
    read the tables whole (tools/checkov_plan.py, tools/standin)."""
    if name == "RESOURCES":
        return tables()[0]
    if name == "CALLS":
        return tables()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class StageMocks(pulumi.runtime.Mocks):
    """Mocks for one stage: the same stack always gets the same ids. ``substrate``: the stage's
    (its answers are read first); a token it does not know is looked up in every substrate's."""

    def __init__(self, stack: str, region: str, substrate: str | None = None) -> None:
        self.stack = stack
        self.region = region
        self._own = tables(substrate)
        self._all: Tables | None = None if substrate is not None else self._own

    def _answer(self, kind: int, token: str) -> Outputs | None:
        found = self._own[kind].get(token)
        if found is None:
            if self._all is None:
                self._all = tables()
            found = self._all[kind].get(token)
        return found

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        facts = Facts(self.stack, self.region, args.name)
        computed = self._answer(0, args.typ)
        outputs = computed(args.inputs, facts) if computed else {}
        resource_id = outputs.pop("id", None) or facts.physical
        return resource_id, {**args.inputs, **outputs}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = self._answer(1, args.token)
        if answer is None:
            return {}, [("token", f"the offline renderer has no mock for invoke {args.token}")]
        return answer(args.args, Facts(self.stack, self.region)), []
