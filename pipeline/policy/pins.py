"""Policy config that restates the blueprint, derived from it so the two cannot drift.

``policies/config/<stage>.json`` is read by ``pulumi preview --policy-pack-config`` as it is, so
the facts it needs from the blueprint (the database engine and major version, the database port
among the ports never open to the internet, the role list) are written there, and
:func:`drift` says where a file no longer matches ``blueprint.yaml``; ``write_pins`` rewrites them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from components.roles import ROLE_NAMES
from components.spec.model import Shape

ENGINE_PIN = "aws-rds-instance-engine-pinned"
ROLES_PIN = "aws-blueprint-component-exactly-once"
ADMIN_PORTS = "aws-ec2-securitygroup-disallow-public-admin-ingress"


def pins(shape: Shape) -> dict[str, dict[str, Any]]:
    """The policy properties every stage's config takes from the blueprint."""
    return {
        ENGINE_PIN: {"engine": shape.database.engine, "majorVersion": shape.database.major_version},
        ROLES_PIN: {"roles": list(ROLE_NAMES)},
    }


def drift(config_file: Path, shape: Shape) -> list[tuple[str, str]]:
    """(key, what the blueprint says) for every derived fact ``config_file`` gets wrong."""
    config = json.loads(config_file.read_text(encoding="utf-8"))
    found = []
    for policy, properties in pins(shape).items():
        entry = config.get(policy)
        for key, expected in properties.items():
            got = entry.get(key) if isinstance(entry, dict) else None
            if got != expected:
                found.append((f"{policy}.{key}", f"{expected!r} from blueprint.yaml, got {got!r}"))
    ports = config.get(ADMIN_PORTS, {}).get("ports", [])
    if shape.database.port not in ports:
        found.append(
            (f"{ADMIN_PORTS}.ports", f"to include the database port {shape.database.port}")
        )
    return found


def write_pins(config_file: Path, shape: Shape) -> None:
    """Rewrite ``config_file`` with the blueprint's facts, keeping everything else."""
    config = json.loads(config_file.read_text(encoding="utf-8"))
    for policy, properties in pins(shape).items():
        entry = config.get(policy)
        config[policy] = {**(entry if isinstance(entry, dict) else {}), **properties}
    entry = config.setdefault(ADMIN_PORTS, {"ports": [22, 3389]})
    if shape.database.port not in entry.setdefault("ports", []):
        entry["ports"] = sorted([*entry["ports"], shape.database.port])
    config_file.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
