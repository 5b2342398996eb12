"""The Checkov waiver file (policies/checkov-waivers.yaml): which findings are accepted, where."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import yaml


@dataclass(frozen=True)
class Waiver:
    check: str
    resources: tuple[str, ...]
    reason: str
    stacks: tuple[str, ...] | None = None
    """Where the finding is expected; None: every stage."""

    def applies(self, stack: str) -> bool:
        return self.stacks is None or stack in self.stacks

    def covers(self, stack: str, check: str, address: str) -> bool:
        return (
            check == self.check
            and self.applies(stack)
            and any(fnmatch.fnmatchcase(address, r.format(stack=stack)) for r in self.resources)
        )


def load(path: Path) -> list[Waiver]:
    doc = yaml.safe_load(path.read_text()) or {}
    out = []
    for entry in doc.get("waivers") or []:
        stacks = entry.get("stacks")
        out.append(
            Waiver(
                check=str(entry["check"]),
                resources=tuple(entry["resources"]),
                reason=" ".join(str(entry["reason"]).split()),
                stacks=tuple(stacks) if stacks else None,
            )
        )
    return out
