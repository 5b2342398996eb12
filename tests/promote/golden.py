"""Golden files for pinned behaviour: what a promotion writes and says, with the values that
change from run to run (times, hashes, ids, ports, commits) masked.

``STAGELINE_UPDATE_GOLDEN=1`` rewrites the files instead of comparing (then review the diff:
a golden file changes only when behaviour is meant to change).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).parent / "golden"

# Fields whose value is a clock reading, a chain hash or a machine fact: masked whole.
MASKED_KEYS = frozenset(
    {
        "time",
        "hash",
        "prev",
        "started",
        "pid",
        "host",
        "commit",
        "recordCommit",
        "base",
        "head",
        "commit_time",
        "created",
        "runner",
        "governance",
    }
)
PATTERNS = (
    (re.compile(r"p-\d{8}T\d{6}-[0-9a-f]{6}"), "<promotion>"),
    (re.compile(r"http://127\.0\.0\.1:\d+"), "<health>"),
    (re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)?( UTC)?"), "<when>"),
    (re.compile(r"\b[0-9a-f]{40}\b"), "<sha>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<sha12>"),
    (re.compile(r"/tmp/[^\s'\"]+"), "<tmp>"),
)


class Masker:
    """Replaces each release id by ``<release:N>`` (numbered in the order given) and the
    volatile values above by placeholders."""

    def __init__(self, releases: Sequence[str]) -> None:
        self.releases = {r: f"<release:{i}>" for i, r in enumerate(releases)}

    def text(self, value: str) -> str:
        for release, name in self.releases.items():
            value = value.replace(release, name)
        for pattern, name in PATTERNS:
            value = pattern.sub(name, value)
        return value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                self.text(str(k)): ("<masked>" if k in MASKED_KEYS else self(v))
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def check_golden(name: str, actual: Any) -> None:
    """Compare ``actual`` with ``golden/<name>.json`` (or rewrite it on request)."""
    path = GOLDEN_DIR / f"{name}.json"
    text = json.dumps(actual, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("STAGELINE_UPDATE_GOLDEN") == "1":
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path}: no golden file; run with STAGELINE_UPDATE_GOLDEN=1"
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert json.loads(text) == expected, (
        f"{path}: behaviour changed (diff the JSON against the file)"
    )
