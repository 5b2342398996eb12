"""The stageline policy pack. Constructing PolicyPack starts the analyzer server and blocks,
so this file does nothing else; the rules live in the importable ``rules`` package, and
``analyzer`` makes the server run only the rules of the stage's substrate."""

from pathlib import Path

import yaml
from analyzer import StageSubstratePolicy, install
from pulumi_policy import EnforcementLevel, PolicyPack
from rules import all_policies

# The pack lives in the project it guards and takes its name from it (Pulumi.yaml ``name``).
PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"
PROJECT = yaml.safe_load(PROJECT_FILE.read_text(encoding="utf-8"))["name"]

install()
PolicyPack(
    name=PROJECT,
    description=f"{PROJECT} guardrails: every stage of the blueprint, one set of rules.",
    # Unconfigured rules block; config/<stage>.json relaxes the ones marked for early stages.
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[*all_policies(), StageSubstratePolicy()],
)
