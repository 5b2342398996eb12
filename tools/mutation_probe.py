"""Security mutation probe: how much of a stage's own rendered graph the policy pack guards.

Each mutation weakens one resource of a stage's offline render the way a careless or hostile
change would (a privileged container, a public storage account, a subscription-wide role), and
the pack, started over gRPC as ``plan`` starts it, checks the mutated graph with the stage's own
policy config. A mutation is caught when the pack reports a finding the unmutated graph does not
have. Run ``python tools/mutation_probe.py [--stack local --stack azure-live]``; it prints one row
per mutation and the catch rate per stage, and exits 1 when any mutation slips through.

A miss can also mean the mutation names a property the provider does not have: the property
names here are the ones the installed SDKs render (pulumi-docker 4, azure-native 3).
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

Inputs = dict[str, Any]
SOCKET = {"containerPath": "/var/run/docker.sock", "hostPath": "/var/run/docker.sock"}


@dataclass(frozen=True)
class Mutation:
    stack: str
    what: str
    type: str
    name: str  # a substring of the resource's name
    change: Callable[[Inputs], None]


def _set(path: str, value: Any) -> Callable[[Inputs], None]:
    def change(inputs: Inputs) -> None:
        *parents, leaf = path.split(".")
        node = inputs
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value

    return change


def _append(key: str, value: Any) -> Callable[[Inputs], None]:
    return lambda inputs: inputs.setdefault(key, []).append(value)


def _drop_tag(key: str) -> Callable[[Inputs], None]:
    def change(inputs: Inputs) -> None:
        if isinstance(inputs.get("tags"), dict):
            inputs["tags"].pop(key, None)
        if isinstance(inputs.get("labels"), list):
            inputs["labels"] = [x for x in inputs["labels"] if x.get("label") != key]

    return change


def _env(name: str, value: str) -> Callable[[Inputs], None]:
    def change(inputs: Inputs) -> None:
        if "envs" in inputs:
            inputs["envs"].append(f"{name}={value}")
        else:
            inputs["template"]["containers"][0]["env"].append({"name": name, "value": value})

    return change


CONTAINER, API = "docker:index/container:Container", "services-api-0"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"  # Azure built-in role: Owner
SUB = "/subscriptions/5f1c2e7a-3b4d-4c6e-8f90-1a2b3c4d5e6f"
MUTATIONS = [
    Mutation("local", "privileged container", CONTAINER, API, _set("privileged", True)),
    Mutation("local", "runs as root", CONTAINER, API, _set("user", "0")),
    Mutation("local", "writable root filesystem", CONTAINER, API, _set("readOnly", False)),
    Mutation("local", "adds NET_ADMIN", CONTAINER, API, _set("capabilities.adds", ["NET_ADMIN"])),
    Mutation("local", "keeps every capability", CONTAINER, API, _set("capabilities.drops", [])),
    Mutation("local", "drops no-new-privileges", CONTAINER, API, _set("securityOpts", [])),
    Mutation(
        "local", "seccomp unconfined", CONTAINER, API, _append("securityOpts", "seccomp=unconfined")
    ),
    Mutation("local", "mounts the Docker socket", CONTAINER, API, _append("volumes", SOCKET)),
    Mutation(
        "local",
        "bind-mounts the host root",
        CONTAINER,
        API,
        _append("mounts", {"source": "/", "target": "/host", "type": "bind"}),
    ),
    Mutation(
        "local",
        "maps a host device",
        CONTAINER,
        API,
        _append("devices", {"hostPath": "/dev/mem", "containerPath": "/dev/mem"}),
    ),
    Mutation(
        "local",
        "publishes on all interfaces",
        CONTAINER,
        API,
        _append("ports", {"internal": 8080, "external": 8080, "ip": "0.0.0.0"}),
    ),
    Mutation("local", "host network", CONTAINER, API, _set("networkMode", "host")),
    Mutation("local", "host PID namespace", CONTAINER, API, _set("pidMode", "host")),
    Mutation("local", "password in the environment", CONTAINER, API, _env("DB_PASS", "hunter2")),
    Mutation(
        "local",
        "credentials in a URL",
        CONTAINER,
        API,
        _env("DATABASE_URL", "postgres://app:hunter2@db:5432/app"),
    ),
    Mutation("local", "logging off", CONTAINER, API, _set("logDriver", "none")),
    Mutation("local", "owner label removed", CONTAINER, API, _drop_tag("owner")),
    Mutation(
        "local",
        "database trusts every connection",
        CONTAINER,
        "database",
        _env("POSTGRES_HOST_AUTH_METHOD", "trust"),
    ),
    Mutation(
        "azure-live",
        "public blob access",
        "azure-native:storage:StorageAccount",
        "storage",
        _set("allowBlobPublicAccess", True),
    ),
    Mutation(
        "azure-live",
        "storage accepts TLS 1.0",
        "azure-native:storage:StorageAccount",
        "storage",
        _set("minimumTlsVersion", "TLS1_0"),
    ),
    Mutation(
        "azure-live",
        "storage SFTP on",
        "azure-native:storage:StorageAccount",
        "storage",
        _set("isSftpEnabled", True),
    ),
    Mutation(
        "azure-live",
        "storage local users on",
        "azure-native:storage:StorageAccount",
        "storage",
        _set("isLocalUserEnabled", True),
    ),
    Mutation(
        "azure-live",
        "storage shared keys on",
        "azure-native:storage:StorageAccount",
        "storage",
        _set("allowSharedKeyAccess", True),
    ),
    Mutation(
        "azure-live",
        "storage reachable publicly",
        "azure-native:storage:StorageAccount",
        "storage",
        _set("publicNetworkAccess", "Enabled"),
    ),
    Mutation(
        "azure-live",
        "registry admin user",
        "azure-native:containerregistry:Registry",
        "registry",
        _set("adminUserEnabled", True),
    ),
    Mutation(
        "azure-live",
        "registry export on",
        "azure-native:containerregistry:Registry",
        "registry",
        _set("policies.exportPolicy.status", "enabled"),
    ),
    Mutation(
        "azure-live",
        "registry anonymous pull",
        "azure-native:containerregistry:Registry",
        "registry",
        _set("anonymousPullEnabled", True),
    ),
    Mutation(
        "azure-live",
        "key vault purge protection off",
        "azure-native:keyvault:Vault",
        "vault",
        _set("properties.enablePurgeProtection", False),
    ),
    Mutation(
        "azure-live",
        "key vault reachable publicly",
        "azure-native:keyvault:Vault",
        "vault",
        # Public access with the firewall's default Deny still admits no one: open both.
        lambda inputs: (
            _set("properties.publicNetworkAccess", "Enabled")(inputs),
            _set("properties.networkAcls.defaultAction", "Allow")(inputs),
        ),
    ),
    Mutation(
        "azure-live",
        "database on another major version",
        "azure-native:dbforpostgresql:Server",
        "postgres",
        _set("version", "15"),
    ),
    Mutation(
        "azure-live",
        "database password sign-in",
        "azure-native:dbforpostgresql:Server",
        "postgres",
        _set("authConfig.passwordAuth", "Enabled"),
    ),
    Mutation(
        "azure-live",
        "database without zone redundancy",
        "azure-native:dbforpostgresql:Server",
        "postgres",
        _set("highAvailability.mode", "Disabled"),
    ),
    Mutation(
        "azure-live",
        "role assigned on the subscription",
        "azure-native:authorization:RoleAssignment",
        "",
        _set("scope", SUB),
    ),
    Mutation(
        "azure-live",
        "Owner role assigned",
        "azure-native:authorization:RoleAssignment",
        "",
        _set(
            "roleDefinitionId", f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
        ),
    ),
    Mutation(
        "azure-live",
        "ingress allows plain HTTP",
        "azure-native:app:ContainerApp",
        "",
        _set("configuration.ingress.allowInsecure", True),
    ),
    Mutation(
        "azure-live",
        "password in an app's environment",
        "azure-native:app:ContainerApp",
        "",
        _env("DB_PASSWORD", "hunter2"),
    ),
    Mutation(
        "azure-live",
        "environment logs nowhere",
        "azure-native:app:ManagedEnvironment",
        "",
        lambda inputs: inputs.pop("appLogsConfiguration", None),
    ),
    Mutation(
        "azure-live",
        "peer traffic unencrypted",
        "azure-native:app:ManagedEnvironment",
        "",
        _set("peerTrafficConfiguration.encryption.enabled", False),
    ),
    Mutation(
        "azure-live",
        "NSG opens everything from the Internet",
        "azure-native:network:NetworkSecurityGroup",
        "apps",
        _append(
            "securityRules",
            {
                "access": "Allow",
                "direction": "Inbound",
                "name": "any",
                "priority": 110,
                "protocol": "*",
                "sourceAddressPrefix": "*",
                "destinationAddressPrefix": "*",
                "sourcePortRange": "*",
                "destinationPortRange": "*",
            },
        ),
    ),
    Mutation(
        "azure-live",
        "owner tag removed",
        "azure-native:storage:StorageAccount",
        "storage",
        _drop_tag("owner"),
    ),
]


def _plan(stacks: list[str]) -> dict[str, Any]:
    args = [sys.executable, "-m", "pipeline", "plan", "--format", "json"]
    for stack in stacks:
        args += ["--stack", stack]
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    if not out.stdout:
        raise SystemExit(f"mutation probe: plan failed:\n{out.stderr}")
    stages: dict[str, Any] = json.loads(out.stdout)["stacks"]
    return stages


def _findings(harness: Any, stack: str, resources: list[Any], outputs: Any) -> set[str]:
    from components.spec import read_stack
    from pipeline.policy.check import check_stages

    render = SimpleNamespace(resources=resources, outputs=outputs)
    config = read_stack(ROOT / "stacks", stack).values
    result = check_stages(harness, {stack: render}, {stack: config})[stack]
    return {f"{f['policy']}|{f.get('urn')}|{f['message']}" for f in result.findings()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", action="append", help="stacks to probe (default: all probed)")
    args = parser.parse_args()
    mutations = [m for m in MUTATIONS if not args.stack or m.stack in args.stack]
    stacks = sorted({m.stack for m in mutations})
    stages = _plan(stacks)
    from pipeline.policy.harness import PolicyHarness

    table = Table("stage", "mutation", "resource", "caught by")
    caught: dict[str, list[bool]] = {s: [] for s in stacks}
    with PolicyHarness(ROOT / "policies").start() as harness:
        baseline = {
            s: _findings(harness, s, stages[s]["resources"], stages[s]["outputs"]) for s in stacks
        }
        for mutation in mutations:
            resources = copy.deepcopy(stages[mutation.stack]["resources"])
            targets = [
                r for r in resources if r["type"] == mutation.type and mutation.name in r["name"]
            ]
            if not targets:
                table.add_row(mutation.stack, mutation.what, "(no such resource)", "-")
                caught[mutation.stack].append(False)
                continue
            for target in targets:
                mutation.change(target["inputs"])
            found = _findings(harness, mutation.stack, resources, stages[mutation.stack]["outputs"])
            new = sorted({f.split("|")[0] for f in found - baseline[mutation.stack]})
            caught[mutation.stack].append(bool(new))
            table.add_row(
                mutation.stack, mutation.what, targets[0]["name"], ", ".join(new) or "MISSED"
            )
    console = Console(width=160)
    console.print(table)
    for stack, hits in caught.items():
        console.print(f"{stack}: {sum(hits)} of {len(hits)} mutations caught")
    return 0 if all(all(h) for h in caught.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
