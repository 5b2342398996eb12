"""``reconcile`` through ``python -m pipeline`` (in process): the aws pipeline's stages over the
fake drift engine, a real health server for the healed stage, the webhook on loopback, and what
``history`` and ``metrics`` then show."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from pipeline import contract
from pipeline.cli import main
from pipeline.promote.state import StageChange
from tests.notify.servers import recording
from tests.promote.record_reader import record
from tests.promote.typed_entries import to_append
from tests.reconcile.fakes import FILE, FileDrift

ENGINE = "tests.reconcile.fakes:engine"
CONTRACT = jsonschema.Draft202012Validator(
    json.loads(contract.SCHEMA.read_text()),
    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
)
IMAGES = {"api": "r/api@sha256:" + "a" * 64, "web": "r/web@sha256:" + "b" * 64}


class _Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"release": "r-1"}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run(stacks: Path, state: Path, *args: str) -> int:
    return main([*args, "--json", "--stacks-dir", str(stacks), "--state-dir", str(state)])


def events(capsys) -> list[dict[str, Any]]:
    """The JSON Lines written, each checked against docs/json-events.schema.json."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for line in lines:
        CONTRACT.validate(line)
    return lines


def test_reconcile_heals_dev_proposes_live_and_says_so(
    stacks_copy: Path, tmp_path: Path, health: str, capsys
) -> None:
    state_dir = tmp_path / "state"
    state = record(state_dir)  # the git record the commands open
    for stack in ("dev", "live"):
        change = StageChange(stack, "aws", "r-1", IMAGES, None, "p-1", "forward", None)
        state.append(to_append({"promotion": "p-1", "stage": stack, "step": "up"}), change)
    cloud = FileDrift(state_dir / FILE)
    cloud.drift_out_of_band("dev")
    cloud.drift_out_of_band("live", "update")
    cloud.set_outputs("dev", {"serviceUrls": {"api": health}, "healthPaths": {"api": "/h"}})
    with recording(200) as hook:
        path = stacks_copy / "pipeline.yaml"
        doc = yaml.safe_load(path.read_text())
        doc["notifications"] = {"webhook": {"url": hook.url}}
        path.write_text(yaml.safe_dump(doc))
        code = run(stacks_copy, state_dir, "reconcile", "--pipeline", "aws", "--deployer", ENGINE)
    out = events(capsys)
    assert code == 1, out[-1]  # live's drift waits for approval
    said = {e["stack"]: e for e in out if e["event"] == "reconcile"}
    assert {s: e["outcome"] for s, e in said.items()} == {
        "dev": "healed",
        "test": "in sync",
        "staging": "in sync",
        "live": "proposed",
    }
    assert "1 health path(s) answer r-1" in said["dev"]["detail"]
    # Never promoted: compared with its stack file as checked out.
    assert "stacks/Pulumi.test.yaml" in said["test"]["detail"]
    assert out[-1]["command"] == "reconcile" and out[-1]["outcome"] == "drifted"
    told = {b["event"]["facts"]["stage"]: b["event"]["outcome"] for b in hook.bodies}
    assert told == {"dev": "healed", "live": "proposed"}  # a stage in sync is no news

    code = run(stacks_copy, state_dir, "reconcile", "--stage", "live", "--deployer", ENGINE)
    assert code == 1 and events(capsys)[-1]["stages"] == {"live": "proposed"}
    cloud.set_outputs("live", {"serviceUrls": {"api": health}, "healthPaths": {"api": "/h"}})
    approved = ["--approve", "--approver", "ops@example.com", "--deployer", ENGINE]
    assert run(stacks_copy, state_dir, "reconcile", "--stage", "live", *approved) == 0
    assert events(capsys)[-1]["outcome"] == "healed"

    assert run(stacks_copy, state_dir, "history", "--stage", "live") == 0
    shown = [e for e in events(capsys) if e["event"] == "entry" and e["step"] == "reconcile"]
    assert [e["outcome"] for e in shown] == ["proposed", "proposed", "healed"]
    assert shown[-1]["approver"] == "ops@example.com"
    assert run(stacks_copy, state_dir, "metrics", "--stage", "live") == 0
    measured = events(capsys)[-1]["metrics"]
    assert (measured["driftEvents"], measured["driftHealed"]) == (3, 1), measured
    assert run(stacks_copy, state_dir, "ledger", "verify") == 0


def test_reconcile_refuses_bad_input_in_one_line(stacks_copy: Path, tmp_path: Path, capsys) -> None:
    state = tmp_path / "state"
    assert run(stacks_copy, state, "reconcile", "--stage", "nope", "--deployer", ENGINE) == 2
    assert run(stacks_copy, state, "reconcile", "--approve", "--deployer", ENGINE) == 2
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 2 and "nope" in said[0] and "--approver" in said[1], said
