"""The rules of the stageline policy pack, by domain; each domain collects its providers."""

from __future__ import annotations

import importlib

from pulumi_policy import Policy

DOMAINS = (
    "network",
    "loadbalancing",
    "registry",
    "containers",
    "database",
    "storage",
    "keys",
    "logs",
    "tags",
    "parity",
)


def all_policies() -> list[Policy]:
    """Every rule of every domain, in domain order; names must be unique across the pack."""
    policies: list[Policy] = []
    for domain in DOMAINS:
        policies.extend(importlib.import_module(f"{__name__}.{domain}").POLICIES)
    seen: set[str] = set()
    for policy in policies:
        if policy.name in seen:
            raise ValueError(f"policy {policy.name!r} is declared twice")
        seen.add(policy.name)
    return policies
