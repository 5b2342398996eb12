"""Which exit code each outcome of ``promote`` returns, observed by running a promotion into
each outcome over the fake cloud (the proposal's code 4 is pinned in test_golden.py).

"rolled back" appears twice on purpose: a rollback on request that succeeded exits 0, a stage
that failed and was returned to its last verified release exits 1."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pipeline.promote.orchestrator import Orchestrator, Outcome, Request
from pipeline.promote.release import Release
from pipeline.promote.verification import VerifyResult
from tests.promote.fakes import FileDeployer

Build = Callable[..., Orchestrator]
MakeRelease = Callable[..., Release]

PINNED = {
    ("promoted", 0),
    ("nothing to do", 0),
    ("rolled back", 0),  # on request
    ("rolled back", 1),  # automatically, after a failed update or verification
    ("rollback failed", 1),
    ("up failed", 1),
    ("verification failed", 1),
    ("stopped", 1),
    ("busy", 3),
    ("refused", 2),
    ("interrupted", 130),
}


def never_verifies(stage: str, outputs: Mapping[str, Any], release: str) -> VerifyResult:
    return VerifyResult(False, f"{stage} never answers")


def interrupt(stage: str, outputs: Mapping[str, Any], release: str) -> VerifyResult:
    raise KeyboardInterrupt


def observed(build: Build, make: MakeRelease, cloud: FileDeployer) -> list[Outcome]:
    """One promotion into each outcome, in dev; each forward promotion a newer release."""
    made = iter(range(10, 0, -1))

    def release(seed: str) -> Release:
        return make(seed, created=datetime.now(UTC) - timedelta(hours=next(made)))

    older, newer = release("a"), release("b")
    results = [
        build().promote(Request(older.id, "dev")),  # promoted
        build().promote(Request(older.id, "dev")),  # nothing to do
        build().promote(Request(older.id, "prod")),  # refused
    ]
    results.append(build().promote(Request(newer.id, "dev")))
    results.append(build().promote(Request(older.id, "dev", rollback=True)))  # rolled back: 0
    cloud.set_fault("dev", "preview", "error")
    results.append(build().promote(Request(release("c").id, "dev")))  # stopped
    cloud.set_fault("dev", "preview", "busy")
    results.append(build().promote(Request(release("d").id, "dev")))  # busy
    cloud.set_fault("dev", "up", "error")
    results.append(build().promote(Request(release("e").id, "dev")))  # rolled back: 1
    # Forward verification fails, then the rollback's (to older, verified there) too.
    results.append(build(verify=never_verifies).promote(Request(release("f").id, "dev")))
    # dev runs older again, unverified: a rollback to newer whose update fails, then one whose
    # verification fails.
    cloud.set_fault("dev", "up", "error")
    results.append(build().promote(Request(newer.id, "dev", rollback=True)))  # up failed
    results.append(
        build(verify=never_verifies).promote(Request(newer.id, "dev", rollback=True))
    )  # verification failed
    results.append(build(verify=interrupt).promote(Request(release("g").id, "dev")))
    return results


def test_each_outcome_has_one_exit_code(orchestrator, make_release_in, cloud):
    results = observed(orchestrator, make_release_in, cloud)
    seen = [(r.outcome, r.code) for r in results]
    assert seen == [
        ("promoted", 0),
        ("nothing to do", 0),
        ("refused", 2),
        ("promoted", 0),
        ("rolled back", 0),
        ("stopped", 1),
        ("busy", 3),
        ("rolled back", 1),
        ("rollback failed", 1),
        ("up failed", 1),
        ("verification failed", 1),
        ("interrupted", 130),
    ], [(r.outcome, r.code, r.message) for r in results]
    assert set(seen) == PINNED
