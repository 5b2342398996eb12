"""Behaviour pinned before promotion is restructured (issue 25): the ledger a promotion writes,
the events it emits and the outcome it returns, for a promotion through the four aws stages, a
resume after an interrupted ``up``, an automatic rollback, a rollback on request and a
proposal. Times, hashes, ids, ports and commits are masked (tests/promote/golden.py); every
other field and the order of entries and events must stay as they are."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.promote.orchestrator import EXIT_OK, Outcome, Request
from tests.promote.conftest import backdate_verification
from tests.promote.fakes import SimulatedCrash
from tests.promote.gitrepos import seed_remote
from tests.promote.golden import Masker, check_golden
from tests.promote.record_reader import record
from tests.promote.test_pull_request import fake, setup
from tests.promote.test_pull_request import fake_cloud as fake_cloud  # the shared fake cloud
from tests.promote.typed_entries import stored


class Recorder:
    """An event sink that keeps every event with its fields, in order."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def __call__(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})


def ledger_of(state_dir: Path) -> list[dict[str, Any]]:
    return stored(record(state_dir).entries())


def pinned(
    masker: Masker, outcomes: list[Outcome], ledger: list[dict[str, Any]], events: Recorder
) -> dict[str, Any]:
    return masker(
        {
            "outcomes": [o.to_json() for o in outcomes],
            "ledger": ledger,
            "events": events.events,
        }
    )


def test_promotion_through_the_four_aws_stages(orchestrator, make_release_in, state_dir):
    release = make_release_in("a")
    events = Recorder()
    first = orchestrator(events=events).promote(Request(release.id, "staging"))
    assert first.code == EXIT_OK, first.message
    backdate_verification(record(state_dir), "staging", release.id, 2)
    live = orchestrator(events=events).promote(Request(release.id, "live", approver="alice"))
    assert live.code == EXIT_OK, live.message
    check_golden(
        "four_stages",
        pinned(Masker([release.id]), [first, live], ledger_of(state_dir), events),
    )


def test_resume_after_an_interrupted_up(orchestrator, make_release_in, cloud, state_dir):
    release = make_release_in("b")
    cloud.set_fault("test", "up", "crash")
    events = Recorder()
    with pytest.raises(SimulatedCrash):
        orchestrator(events=events).promote(Request(release.id, "staging"))
    resumed = orchestrator(events=events).promote(Request(release.id, "staging"))
    assert resumed.code == EXIT_OK, resumed.message
    check_golden(
        "resume_after_up", pinned(Masker([release.id]), [resumed], ledger_of(state_dir), events)
    )


def test_automatic_rollback(orchestrator, make_release_in, cloud, state_dir):
    good, bad = make_release_in("c"), make_release_in("d")
    events = Recorder()
    assert orchestrator(events=events).promote(Request(good.id, "test")).code == EXIT_OK
    cloud.set_fault("test", "verify", f"wrong-version:{bad.id}")
    stopped = orchestrator(events=events).promote(Request(bad.id, "staging"))
    assert stopped.outcome == "rolled back", stopped.message
    check_golden(
        "automatic_rollback",
        pinned(Masker([good.id, bad.id]), [stopped], ledger_of(state_dir), events),
    )


def test_rollback_on_request(orchestrator, make_release_in, state_dir):
    first = make_release_in("e", created=datetime.now(UTC) - timedelta(days=1))
    second = make_release_in("f")
    events = Recorder()
    assert orchestrator(events=events).promote(Request(first.id, "dev")).code == EXIT_OK
    assert orchestrator(events=events).promote(Request(second.id, "dev")).code == EXIT_OK
    back = orchestrator(events=events).promote(Request(first.id, "dev", rollback=True))
    assert (back.code, back.outcome) == (EXIT_OK, "rolled back"), back.message
    check_golden(
        "rollback_on_request",
        pinned(Masker([first.id, second.id]), [back], ledger_of(state_dir), events),
    )


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    return seed_remote(tmp_path / "origin")


@pytest.mark.usefixtures("fake_cloud")
def test_proposal_json_events(
    remote: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON Lines of a promotion to dev and of the proposal for test (promoted by pull
    request) through the command line over a git record."""
    author, release_id = setup(remote, tmp_path)
    capsys.readouterr()
    assert fake(author, release_id, "--to", "dev", "--json") == EXIT_OK
    promoted = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert fake(author, release_id, "--to", "test", "--json") == 4
    proposed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    check_golden("proposal_json", Masker([release_id])({"promote": promoted, "propose": proposed}))
