"""Freeze windows: weekly spans on a named time zone's wall clock (across daylight saving), a
gate that refuses inside one, an override that is recorded with who and why, and the gate
audit of ``ledger verify`` replaying it from the start entry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from components.spec import SpecError
from pipeline.cli import main
from pipeline.definition import PipelineFile, load_pipeline
from pipeline.promote.entries import LedgerEntry, StartEntry, read_entry
from pipeline.promote.gates import FreezeOverride
from pipeline.promote.orchestrator import EXIT_INVALID, EXIT_OK, Request
from pipeline.record.gate_audit import audit
from pipeline.windows import DAYS, FreezeWindow
from tests.promote.record_reader import record
from tests.promote.typed_entries import stored


def typed(entries: list[dict[str, Any]]) -> list[LedgerEntry]:
    return [read_entry(e) for e in entries]


WEEKEND = FreezeWindow(start="Fri 16:00", end="Mon 08:00", time_zone="Europe/Berlin")


@pytest.mark.parametrize(
    ("utc", "frozen"),
    [
        ("2026-12-04T14:59", False),  # Friday 15:59 in Berlin (CET, UTC+1)
        ("2026-12-04T15:00", True),  # Friday 16:00
        ("2026-12-06T12:00", True),  # Sunday
        ("2026-12-07T06:59", True),  # Monday 07:59
        ("2026-12-07T07:00", False),  # Monday 08:00
        ("2026-12-09T15:30", False),  # Wednesday
        ("2026-07-03T13:59", False),  # Friday 15:59 in summer (CEST, UTC+2)
        ("2026-07-03T14:00", True),  # Friday 16:00 in summer: the wall clock, not UTC
    ],
)
def test_a_weekend_window_on_the_berlin_wall_clock(utc: str, frozen: bool) -> None:
    assert WEEKEND.covers(datetime.fromisoformat(utc).replace(tzinfo=UTC)) is frozen


def window_around(now: datetime, zone: str = "Europe/Berlin") -> dict[str, str]:
    """A window from an hour before ``now`` to an hour after it, on ``zone``'s clock."""

    def when(at: datetime) -> str:
        local = at.astimezone(ZoneInfo(zone))
        return f"{DAYS[local.weekday()]} {local:%H:%M}"

    return {
        "start": when(now - timedelta(hours=1)),
        "end": when(now + timedelta(hours=1)),
        "timeZone": zone,
        "reason": "test freeze",
    }


def freeze_stage(stacks: Path, stack: str, window: dict[str, str]) -> None:
    path = stacks / "pipeline.yaml"
    doc = yaml.safe_load(path.read_text())
    for stage in doc["pipelines"]["aws"]["stages"]:
        if stage["stack"] == stack:
            stage["freeze"] = [window]
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


@pytest.mark.parametrize(
    ("window", "key", "said"),
    [
        (
            {"start": "Fri 16:00", "end": "Mon 08:00", "timeZone": "Mars/Olympus"},
            "timeZone",
            "IANA",
        ),
        ({"start": "Friday 16:00", "end": "Mon 08:00", "timeZone": "UTC"}, "start", "Fri 16:00"),
        ({"start": "Fri 16:00", "end": "Fri 16:00", "timeZone": "UTC"}, "freeze.0", "length"),
    ],
)
def test_a_bad_window_names_file_and_key(
    stacks_copy: Path, window: dict[str, str], key: str, said: str
) -> None:
    freeze_stage(stacks_copy, "live", window)
    with pytest.raises(SpecError) as caught:
        load_pipeline(stacks_copy)
    text = str(caught.value)
    assert "pipeline.yaml" in text and "pipelines.aws.stages.3.freeze.0" in text, text
    assert key in text and said in text, text


def test_frozen_stage_refuses_then_an_override_is_recorded_and_audited(
    orchestrator, make_release_in, stacks_copy: Path, state_dir: Path
) -> None:
    freeze_stage(stacks_copy, "dev", window_around(datetime.now(UTC)))
    release = make_release_in("z")
    refused = orchestrator().promote(Request(release.id, "dev"))
    assert refused.code == EXIT_INVALID, refused.message
    assert (
        "dev: freeze: dev is frozen" in refused.message and "--override-freeze" in refused.message
    )
    assert stored(record(state_dir).entries()) == [], "a refusal writes nothing"

    override = FreezeOverride("alice", "hotfix for incident 42")
    done = orchestrator().promote(Request(release.id, "dev", freeze_override=override))
    assert done.code == EXIT_OK, done.message
    entries = stored(record(state_dir).entries())
    start = next(e for e in entries if e["step"] == "start")
    assert start["override"] == {"by": "alice", "reason": "hotfix for incident 42"}
    freeze = next(v for v in start["verdicts"]["dev"] if v["gate"] == "freeze")
    assert freeze["outcome"] == "ok" and "overridden by alice" in freeze["reason"], freeze

    # ledger verify's audit replays the gates at the start entry's time, override included;
    # the same record without the override is a finding.
    definition = load_pipeline(stacks_copy)
    releases = {r.id: r for r in record(state_dir).releases.all()}
    assert audit(typed(entries), releases, Governs(definition)).findings == []
    stripped = [{k: v for k, v in e.items() if k != "override"} for e in entries]
    findings = audit(typed(stripped), releases, Governs(definition)).findings
    assert [(f.stage, f.gate) for f in findings] == [("dev", "freeze")], findings


class Governs:
    """The governing pipeline file, as the git record would give it (gate_audit.Governing)."""

    where = "origin/main"

    def __init__(self, definition: PipelineFile) -> None:
        self.file = definition

    def of(self, entry: StartEntry) -> tuple[str, str, list[str], list[str]]:
        return "c0ffee", "blob", [], []

    def definition(self, blob: str) -> PipelineFile:
        return self.file

    def reviewed(self, commit: str, governed_by: str) -> bool:
        return True


def test_override_needs_who_decided(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "promote",
            "r-0",
            "--to",
            "live",
            "--override-freeze",
            "hotfix",
            "--state-dir",
            str(tmp_path),
        ]
    )
    assert code == EXIT_INVALID
    err = capsys.readouterr().err
    assert "--override-freeze REASON needs" in err and "Traceback" not in err, err
