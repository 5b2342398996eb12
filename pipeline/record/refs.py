"""Where the state lives in git and how a writer retries: the refs, the number of attempts of a
compare-and-swap write and the wait between them (moved from pipeline.record.state)."""

from __future__ import annotations

import random
import time

# A branch, not a custom ref: git's receive.denyNonFastForwards and GitHub's rulesets protect
# branches only, and the state must be protected from force pushes.
STATE_REF = "refs/heads/stageline/state"
FETCHED = "refs/stageline/remote/"  # this clone's copy of the remote's stageline/* branches
FETCHED_STAGES = "refs/stageline/remote-stages/"  # ... and of its refs/heads/stages/*
SEEN_REF = "refs/stageline/seen"  # the newest state this clone verified (never pushed)
STAGE_TRAILER = "Stageline-Stage"
ATTEMPTS = 20


def backoff(attempt: int) -> None:
    """Jittered exponential wait after a refused push, so two busy writers do not livelock."""
    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
