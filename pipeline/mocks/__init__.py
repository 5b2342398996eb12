"""Mocks for the offline renderer: each substrate answers per type token with realistic outputs.

A substrate module exposes ``RESOURCES`` (type token -> function of (inputs, facts) returning the
provider-computed outputs) and ``CALLS`` (invoke token -> function of (args, facts)). Inputs are
echoed back as outputs, as a provider would for the properties it was given.
"""

from __future__ import annotations

import hashlib
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


# Every registered substrate's answers (each names its mocks module in the registry).
RESOURCES: dict[str, Outputs] = {}
CALLS: dict[str, Outputs] = {}
for _info in substrates.registry().values():
    _resources, _calls = _info.mock_tables()
    RESOURCES.update(_resources)
    CALLS.update(_calls)


class StageMocks(pulumi.runtime.Mocks):
    """Mocks for one stage: the same stack always gets the same ids."""

    def __init__(self, stack: str, region: str) -> None:
        self.stack = stack
        self.region = region

    def new_resource(
        self, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        facts = Facts(self.stack, self.region, args.name)
        computed = RESOURCES.get(args.typ)
        outputs = computed(args.inputs, facts) if computed else {}
        resource_id = outputs.pop("id", None) or facts.physical
        return resource_id, {**args.inputs, **outputs}

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answer = CALLS.get(args.token)
        if answer is None:
            return {}, [("token", f"the offline renderer has no mock for invoke {args.token}")]
        return answer(args.args, Facts(self.stack, self.region)), []
