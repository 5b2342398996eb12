"""What a review stage is: its stack name, identity (stage, CIDR, domain) and stack file.

A review stage is the blueprint at the scale of the first stage of its pipeline, under names of
its own: the stack ``pr<N>-<pipeline>`` (containers, networks and volumes are named from the
stack), the stage ``pr<N>`` (the labels and tags say which pull request), a domain under the
first stage's parent domain and a /16 from ``REVIEW_POOL`` that no stack file and no other
review stage uses. Its stack file is written into the review's own worktree only: it is in no
pipeline, so it is never a promotion target, and nothing of it reaches ``stages/*``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from components.spec.loader import PROJECT

REVIEW_POOL = ipaddress.IPv4Network("10.160.0.0/11")
"""The /16s review stages are given (10.160 to 10.191); the pipelines use 10.0 to 10.159."""
STACK = re.compile(r"^pr(?P<pr>[1-9][0-9]{0,6})-(?P<pipeline>[a-z][a-z0-9-]*)$")


class ReviewError(Exception):
    """A review stage cannot be made (bad input, no free network); nothing was created."""


def review_stack(pr: int, pipeline: str) -> str:
    return f"pr{pr}-{pipeline}"


def parse_stack(stack: str) -> tuple[int, str] | None:
    """(pull request, pipeline) of a review stack's name; None for any other stack."""
    found = STACK.match(stack)
    return (int(found["pr"]), found["pipeline"]) if found else None


def pick_cidr(pr: int, used: Iterable[str]) -> str:
    """The pull request's /16 of the pool (by its number), else the next one no one uses."""
    taken = [n for n in (ipaddress.ip_network(c, strict=False) for c in used) if n.version == 4]
    subnets = list(REVIEW_POOL.subnets(new_prefix=16))
    for step in range(len(subnets)):
        candidate = subnets[(pr + step) % len(subnets)]
        if not any(candidate.overlaps(t) for t in taken if isinstance(t, ipaddress.IPv4Network)):
            return str(candidate)
    raise ReviewError(f"every /16 of {REVIEW_POOL} is in use: sweep or bring review stages down")


@dataclass(frozen=True)
class Identity:
    stack: str
    stage: str
    cidr: str
    domain: str


def identity(pr: int, pipeline: str, first_domain: str, used: Iterable[str]) -> Identity:
    parent = first_domain.split(".", 1)[1] if "." in first_domain else first_domain
    return Identity(review_stack(pr, pipeline), f"pr{pr}", pick_cidr(pr, used), f"pr{pr}.{parent}")


def stack_file(
    first: Mapping[str, Any], who: Identity, release: str, images: Mapping[str, str]
) -> str:
    """The review stage's stack file from the first stage's (its parsed YAML): the same config
    (scale, shape, substrate) with the review's identity and the head's release. Values the
    first stage encrypted (``secure:``) cannot be decrypted under another stack's key and are
    left out; ``encryptionsalt`` is the first stage's and is left out too (stack init writes
    the review's own)."""
    config: dict[str, Any] = {}
    for key, value in dict(first.get("config") or {}).items():
        if isinstance(value, Mapping) and "secure" in value:
            continue
        config[key] = value
    config |= {
        f"{PROJECT}:stage": who.stage,
        f"{PROJECT}:cidr": who.cidr,
        f"{PROJECT}:domain": who.domain,
        f"{PROJECT}:release": release,
        f"{PROJECT}:images": dict(sorted(images.items())),
    }
    doc: dict[str, Any] = {}
    if first.get("secretsprovider"):
        doc["secretsprovider"] = first["secretsprovider"]
    doc["config"] = config
    header = (
        f"# Review stage {who.stage} ({who.stack}): written by `review up`, never committed;"
        " in no pipeline.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False)
