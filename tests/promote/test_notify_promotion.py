"""A promotion tells the pipeline file's webhook how it ended; a webhook that refuses or hangs
changes nothing about the promotion and is reported once."""

from __future__ import annotations

import json
import time
from pathlib import Path

import yaml

from pipeline.cli import main
from tests.notify.servers import hanging, recording, refusing_url

FAKE = "tests.promote.fakes:file_deployer"


def _webhook(stacks: Path, **hook: object) -> None:
    path = stacks / "pipeline.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["notifications"] = {"webhook": hook}
    path.write_text(yaml.safe_dump(doc))


def _promote(stacks: Path, state: Path, release: str, *more: str) -> int:
    where = ["--stacks-dir", str(stacks), "--state-dir", str(state), "--json"]
    return main(["promote", release, "--to", "test", *more, "--deployer", FAKE, *where])


def _events(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_promotion_is_announced(
    stacks_copy, state_dir, health, make_release_in, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)
    release = make_release_in("a")
    with recording(200) as server:
        _webhook(stacks_copy, url=server.url)
        assert _promote(stacks_copy, state_dir, release.id) == 0
    events = _events(capsys)
    assert events[-1]["outcome"] == "promoted"
    assert not [e for e in events if e["event"] == "note" and "notifications" in e["message"]]
    (body,) = server.bodies
    assert body["event"]["kind"] == "promotion" and body["event"]["outcome"] == "promoted"
    assert body["event"]["facts"] == {
        "release": release.id,
        "target": "test",
        "dev": "verified",
        "test": "verified",
    }


def test_a_refusing_or_hanging_webhook_changes_nothing(
    stacks_copy, state_dir, health, make_release_in, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)
    first, second = make_release_in("a"), make_release_in("b")
    _webhook(stacks_copy, url=refusing_url(), retries=2)
    assert _promote(stacks_copy, state_dir, first.id) == 0
    events = _events(capsys)
    notes = [e for e in events if e["event"] == "note" and "notifications" in e["message"]]
    assert len(notes) == 1 and "refused" in notes[0]["message"], notes
    assert events[-1]["event"] == "result" and events[-1]["outcome"] == "promoted"
    with hanging() as (url, accepted):
        _webhook(stacks_copy, url=url, timeoutSeconds=0.5, retries=0)
        started = time.monotonic()
        assert _promote(stacks_copy, state_dir, second.id) == 0
        assert time.monotonic() - started < 30
        assert len(accepted) == 1
    events = _events(capsys)
    notes = [e for e in events if e["event"] == "note" and "notifications" in e["message"]]
    assert len(notes) == 1 and "timed out" in notes[0]["message"], notes
    assert events[-1]["outcome"] == "promoted"
