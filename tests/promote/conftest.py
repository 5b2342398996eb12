"""Fixtures for promotion tests: a state dir, releases, the fake cloud and an orchestrator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.definition import load_pipeline
from pipeline.promote.orchestrator import Orchestrator
from pipeline.promote.release import Release, make_release
from pipeline.promote.verification import HealthCheck
from pipeline.record.local import LocalGitState
from tests.conftest import PROJECT_DIR
from tests.promote.fakes import FileDeployer, HealthServer
from tests.promote.record_reader import record
from tests.promote.typed_entries import stored, to_append

SERVICES = ("api", "web")


def images(seed: str) -> dict[str, str]:
    """A digest-pinned image per service, distinct per seed."""
    return {
        s: f"ghcr.io/stageline/{s}@sha256:{(seed * 63)[:63]}{i}" for i, s in enumerate(SERVICES)
    }


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def state(state_dir: Path) -> LocalGitState:
    """The record of ``state_dir``, as ``--state-dir`` opens it (a git record in the directory)."""
    return record(state_dir)


@pytest.fixture
def make_release_in(state: LocalGitState) -> Callable[..., Release]:
    def make(seed: str, created: datetime | None = None) -> Release:
        release, _ = state.save_release(make_release(PROJECT_DIR, images(seed), now=created))
        return release

    return make


@pytest.fixture
def cloud(stacks_copy: Path, state_dir: Path) -> FileDeployer:
    return FileDeployer(stacks_copy, state_dir)


@pytest.fixture
def health(cloud: FileDeployer) -> Iterator[HealthServer]:
    with HealthServer(cloud) as server:
        cloud.health_url = server.url
        yield server


@pytest.fixture
def orchestrator(
    cloud: FileDeployer, health: HealthServer, stacks_copy: Path, state: LocalGitState
) -> Callable[..., Orchestrator]:
    """An orchestrator over the fake cloud, verifying through the real local HTTP server."""

    def build(**overrides: Any) -> Orchestrator:
        options: dict[str, Any] = {
            "verify": HealthCheck(timeout=0.6, interval=0.05),
            "services": frozenset(SERVICES),
            **overrides,
        }
        return Orchestrator(cloud, load_pipeline(stacks_copy), state, **options)

    return build


def hours_ago(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def backdate_verification(state: Any, stage: str, release: str, hours: float) -> None:
    """Record, through the real state (``PromotionState.append``), that ``release`` passed
    verification in ``stage`` ``hours`` ago: a copy of its latest passing verify entry whose own
    time is earlier. The soak gate then measures from that recorded time against the real
    clock; nothing in the code under test is told another time."""
    passed = [
        e
        for e in stored(state.entries())
        if e.get("stage") == stage
        and e.get("step") == "verify"
        and e.get("status") == "completed"
        and e.get("release") == release
    ]
    fields = {k: v for k, v in passed[-1].items() if k not in ("seq", "prev", "hash")}
    fields["time"] = hours_ago(hours).isoformat(timespec="milliseconds")
    fields["detail"] = f"backdated by the test: verified {hours} h ago"
    state.append(to_append(fields))
