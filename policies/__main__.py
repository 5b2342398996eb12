"""The stageline policy pack. Constructing PolicyPack starts the analyzer server and blocks,
so this file does nothing else; the rules live in the importable ``rules`` package."""

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import all_policies

PolicyPack(
    name="stageline",
    description="stageline guardrails: every stage of the blueprint, one set of rules.",
    # Unconfigured rules block; config/<stage>.json relaxes the ones marked for early stages.
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=all_policies(),
)
