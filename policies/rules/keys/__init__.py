"""Keys and secrets rules, one module per provider (aws.py, azure.py, docker.py)."""

from ..rule import discover

POLICIES = discover(__name__, __path__)
