"""A committed revision's whole plan, kept by content, so ``diff`` does not render it again.

A commit's plan is a function of its files (its program, stack files, pipeline file, policy
pack and renderer, all in the commit's tree), the stages asked for, and the environment that
renders it (interpreter and SDK versions, the extra substrates named in the environment). The
key hashes exactly those, with the tree id git already computed, so looking up a base revision
costs one ``git rev-parse`` and one file read: no worktree, no render, no policy pack. Entries sit
beside the stage renders (``.stageline/cache/plans``), are written whole or not at all, and only
for a revision that rendered without an error. The working tree has no tree id; its stages come
from the stage cache (pipeline/cache.py) instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from components.substrates import EXTRA
from pipeline.cache import SDKS

VERSION = "1"  # bump when the stored form or what a plan depends on changes
RUNTIME = ("pulumi-policy", "grpcio", "protobuf")
"""Beyond the SDKs: what the plan's policy check runs on."""


def _versions() -> dict[str, str]:
    out = {}
    for name in (*SDKS, *RUNTIME):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


class PlanCache:
    """Plans of committed revisions under ``directory/plans``, by key."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "plans"
        self._environment = {
            "version": VERSION,
            "python": platform.python_version(),
            "packages": _versions(),
            "substrates": os.environ.get(EXTRA, ""),
        }

    def key(self, tree: str, stacks: list[str] | None) -> str:
        """The key of the plan of ``stacks`` (None: every stage) of the project tree ``tree``."""
        text = json.dumps({**self._environment, "tree": tree, "stacks": stacks}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            plan = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return plan if isinstance(plan, dict) and "stacks" in plan else None

    def put(self, key: str, plan: dict[str, Any]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(plan, handle)
            os.replace(temporary, self._path(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
