"""A stage's record: the branch ``stages/<stack>`` whose tip is exactly what the stage runs.

Its tree is the release's infrastructure commit with two files changed: the stack file pins the
release and every image by digest, and ``stacks/<stack>.record.json`` names the release, the
digests, the infrastructure commit, the promotion, the approver and the ledger entry it follows.
Its parents are the stage's previous record (the stage's history) and the infrastructure commit
(so ``git diff stages/live~1 stages/live`` is the change the promotion made).
``git checkout stages/live && pulumi up -s live`` is what the last promotion deployed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping

from ruamel.yaml import YAML

from components import project
from pipeline.record.git import Git

STAGE_BRANCH = "stages/{stack}"
STACK_FILE = "stacks/Pulumi.{stack}.yaml"
RECORD_FILE = "stacks/{stack}.record.json"
PROJECT_KEY = project.name()  # the config namespace: Pulumi.yaml's name


def stage_ref(stack: str) -> str:
    return "refs/heads/" + STAGE_BRANCH.format(stack=stack)


def pin_stack_file(text: bytes, release: str, images: Mapping[str, str]) -> bytes:
    """The stack file with ``<project>:release`` and ``<project>:images`` set; comments and the
    order of every other key are kept (ruamel round-trip)."""
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # digests are long: never fold a line
    doc = yaml.load(text.decode("utf-8")) or {}
    config = doc.setdefault("config", {})
    config[f"{PROJECT_KEY}:release"] = release
    config[f"{PROJECT_KEY}:images"] = dict(sorted(images.items()))
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue().encode("utf-8")


def merged_proposal(git: Git, stack: str, tip: str) -> tuple[str, str] | None:
    """(base, proposal) when ``tip`` merges a proposal into the commit it was proposed onto."""
    parents = git.parents(tip)
    if len(parents) != 2:
        return None
    base, proposal = parents
    raw = git.show(proposal, RECORD_FILE.format(stack=stack))
    try:
        record = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("proposal"), dict):
        return None
    if git.parents(proposal)[:1] != [base]:
        return None
    return base, proposal
