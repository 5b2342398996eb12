"""Where the state lives in git and how a writer retries: the refs, the number of attempts of a
compare-and-swap write and the wait between them (moved from pipeline.record.state)."""

from __future__ import annotations

import random
import time

from components import project
from pipeline.definition import DEFAULT_FILE

# The refs and trailers carry the project's name (Pulumi.yaml), e.g. ``<name>/state``.
_NAME = project.name()
_TRAILER = _NAME.capitalize()
# A branch, not a custom ref: git's receive.denyNonFastForwards and GitHub's rulesets protect
# branches only, and the state must be protected from force pushes.
STATE_BRANCHES = f"refs/heads/{_NAME}/"  # the state branch and its kin, fetched together
STATE_REF = f"{STATE_BRANCHES}state"
COMMIT_PREFIX = f"{_NAME}: "  # the record's commit subjects: "<name>: lock aws"
FETCHED = f"refs/{_NAME}/remote/"  # this clone's copy of the remote's <name>/* branches
FETCHED_STAGES = f"refs/{_NAME}/remote-stages/"  # ... and of its refs/heads/stages/*
SEEN_REF = f"refs/{_NAME}/seen"  # the newest state this clone verified (never pushed)
PROTECTED = f"refs/{_NAME}/protected/"  # this clone's copy of the remote's protected branch
STAGE_TRAILER = f"{_TRAILER}-Stage"
ENTRY_TRAILER = f"{_TRAILER}-Entry"
MIGRATION_TRAILER = f"{_TRAILER}-Migrated"
SEAL_TRAILER = f"{_TRAILER}-Sealed"
IMPORT_TRAILER = f"{_TRAILER}-Imported"  # the root of a record imported from a directory
ATTEMPTS = 20
PIPELINE_PATH = f"stacks/{DEFAULT_FILE}"  # the governing pipeline file, in a commit's tree


def backoff(attempt: int) -> None:
    """Jittered exponential wait after a refused push, so two busy writers do not livelock."""
    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
