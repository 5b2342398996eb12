"""Containers that carry a stage's labels but that its stack does not manage.

Run again by hand with the Docker CLI (``docker rm -f`` and ``docker run`` under the same name,
labels and networks, with another environment or image), a container gets a new id. The docker
provider's refresh reads a container by id: the stack's container is gone, so the preview
creates one and ``up`` does, under a new auto-name, and the hand-made one keeps running beside it
with the same network aliases (seen in the docker lane, tests/dockerlane/test_reconcile.py).
A refreshed preview cannot see it, so reconcile asks the Docker engine for every container
labelled with the stage's tags (the labels every container of the stack shares, ``name``
aside) and reports those the stack does not hold as drift (op ``stray``). Nothing removes
them: reconcile changes only what the stack manages, so a stage with a stray is never in sync
and its heal fails, naming the container, until someone removes it (fail-closed).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pipeline.promote.deployer import Change, DeployError

CONTAINER = "docker:index/container:Container"
STRAY = "stray"
"""The op of a container that carries the stage's labels but is not in its stack."""

DockerCli = Callable[[Sequence[str]], str]


def _labels(resource: Mapping[str, Any]) -> dict[str, str]:
    found = (resource.get("outputs") or {}).get("labels") or []
    return {str(x["label"]): str(x["value"]) for x in found if isinstance(x, Mapping)}


def stage_labels(resources: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The labels every container of the stack carries (its stage's tags), ``name`` aside."""
    containers = [_labels(r) for r in resources if r.get("type") == CONTAINER]
    if not containers:
        return {}
    shared = dict(containers[0])
    for labels in containers[1:]:
        shared = {k: v for k, v in shared.items() if labels.get(k) == v}
    shared.pop("name", None)
    return shared


def find_strays(resources: Sequence[Mapping[str, Any]], docker: DockerCli) -> list[Change]:
    """Containers labelled as the stack's but not in it (``resources``: the stack's state)."""
    labels = stage_labels(resources)
    if not labels:  # no containers (not a docker stage), or none shares a label
        return []
    managed = {str(r.get("id")) for r in resources if r.get("type") == CONTAINER}
    filters = [arg for k, v in sorted(labels.items()) for arg in ("--filter", f"label={k}={v}")]
    listed = docker(["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}", *filters])
    strays = []
    for line in listed.splitlines():
        cid, _, name = line.strip().partition(" ")
        if cid and cid not in managed:
            urn = f"docker container {name} ({cid[:12]}), not in the stack"
            strays.append(Change(urn, CONTAINER, STRAY, old={"id": cid, "name": name}))
    return strays


def docker_cli(args: Sequence[str]) -> str:
    """The Docker CLI of this machine (DOCKER_HOST as set); fails closed when it cannot ask."""
    if shutil.which("docker") is None:
        raise DeployError("the Docker CLI is not installed: cannot look for stray containers")
    try:
        done = subprocess.run(
            ["docker", *args], capture_output=True, text=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        raise DeployError("docker ps did not answer in 60 s: cannot look for strays") from None
    if done.returncode != 0:
        raise DeployError(f"docker ps failed: {done.stderr.strip()[-300:]}")
    return done.stdout


def remove_hint(changes: Sequence[Change]) -> str:
    """What to do about the strays among ``changes`` ("" when there are none)."""
    ids = [str((c.old or {}).get("id", c.urn))[:12] for c in changes if c.op == STRAY]
    if not ids:
        return ""
    return (
        "; reconcile removes nothing its stack does not manage: remove the stray container by"
        f" hand (docker rm -f {' '.join(ids)}) and reconcile again"
    )
