"""The one ``--json`` contract (docs/json.md): every command's stream is events with ``event``
and ``time``, each valid against docs/json-events.schema.json, ending in exactly one
``result`` with the same fields, on success and on failure alike."""

from __future__ import annotations

import json

import jsonschema
import pytest

from pipeline import contract, usage
from pipeline.cli import main
from tests.promote.conftest import images

FAKE = "tests.promote.fakes:file_deployer"
SCHEMA = json.loads(contract.SCHEMA.read_text())
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


def test_the_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def stream(capsys) -> list[dict]:
    return _lines(capsys.readouterr().out)


@pytest.fixture
def run(stacks_copy, state_dir, health, monkeypatch, capsys):
    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)

    def run(*args: str) -> tuple[int, list[dict]]:
        code = main([*args, "--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)])
        events = stream(capsys)
        result = events[-1]
        assert result["code"] == code, result["message"]
        assert result["command"] == " ".join(a for a in args[:2] if not a.startswith(("-", "r-")))
        return code, events

    return run


def test_every_command_keeps_the_contract(run, make_release_in, cloud):
    seed = images("e")
    code, events = run(
        "release", "create", *[f"--image={s}={i}" for s, i in seed.items()], "--json"
    )
    assert code == 0 and events[-1]["outcome"] == "created"
    release = events[-1]["release"]
    assert [e["id"] for e in events if e["event"] == "release"] == [release]

    code, events = run("release", "show", release, "--json")
    assert code == 0 and events[0]["images"] == seed
    code, events = run("release", "list", "--json")
    assert code == 0 and [e["id"] for e in events[:-1]] == [release]

    code, events = run(
        "promote", release, "--to", "test", "--deployer", FAKE, "--json", "--health-timeout", "1"
    )
    assert code == 0 and events[-1]["outcome"] == "promoted"
    assert events[-1]["stages"] == {"dev": "verified", "test": "verified"} or events[-1]["stages"]
    assert {e["event"] for e in events} >= {"promotion", "step", "result"}

    code, events = run("status", "--deployer", FAKE, "--json")
    assert code == 0 and {e["stack"] for e in events if e["event"] == "stage"} >= {"dev", "live"}
    code, events = run("history", "--stage", "dev", "--json")
    assert code == 0 and {e["stage"] for e in events if e["event"] == "entry"} == {"dev"}
    code, events = run("metrics", "--stage", "test", "--json")
    assert code == 0 and events[-1]["metrics"]["deployments"] == 1
    code, events = run("ledger", "verify", "--json")
    assert code == 0 and events[-1]["outcome"] == "verified" and events[-1]["problems"] == []


def test_a_rehearsal_ends_in_the_same_result(run, make_release_in):
    release = make_release_in("f")
    code, events = run("promote", release.id, "--to", "live", "--rehearse", "--json")
    result = events[-1]
    stages = result["rehearsal"]["stages"]
    assert [s["stack"] for s in stages] == ["dev", "test", "staging", "live"]
    assert "exitCode" not in result and "exitCode" not in result["rehearsal"]
    blocked = [s["stack"] for s in stages if s["blocked"]]
    assert code == (1 if blocked else 0)
    assert result["outcome"] == ("blocked" if blocked else "rehearsed")
    if blocked:
        assert f"blocked at {', '.join(blocked)}" in result["message"]
    else:  # live needs approval whatever else holds: the message says so, not "ok"
        assert (
            "live waits (" in result["message"] and "approval needs approval" in result["message"]
        )
    steps = [e for e in events if e["event"] == "step"]
    assert {e["kind"] for e in steps} == {"rehearsal"} and len(steps) == 4
    held = [e for e in steps if any(g["verdict"] not in ("ok", "not run") for g in e["gates"])]
    assert [e["stage"] for e in held][-1] == "live"


@pytest.mark.parametrize(
    "args",
    [
        ("promote", "r-0000000000000000", "--to", "dev", "--deployer", FAKE),
        ("promote", "r-0000000000000000", "--to", "lve", "--deployer", FAKE),
        ("promote", "r-0000000000000000", "--to", "dev", "--deployer", "nosuch:x"),
        ("promote", "r-0000000000000000", "--to", "live", "--rehearse"),
        ("release", "create", "--image", "api=a:latest"),
        ("release", "show", "r-0000000000000000"),
        ("status", "--pipeline", "nosuch"),
        ("metrics", "--stage", "nosuch"),
        ("history", "--stage", "nosuch"),
    ],
)
def test_a_refusal_still_ends_in_one_result(run, args):
    code, events = run(*args, "--json")
    assert code == 2
    assert events[-1]["outcome"] == "refused" and events[-1]["message"]


# ------------------------------------------------------------- every --json, as CI runs it


def _json_commands() -> set[str]:
    """Every command whose parser takes --json ("release create", "stages", ...)."""
    import argparse

    from pipeline.cli import parser

    found: set[str] = set()

    def walk(command: argparse.ArgumentParser) -> None:
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    walk(sub)
            elif "--json" in action.option_strings:
                found.add(command.prog.removeprefix(usage.command_name()).strip())

    walk(parser())
    return found


def _lines(text: str) -> list[dict]:
    """Each line of a --json stream, checked against the schema; exactly one result, last."""
    assert text, "no output"
    assert text.endswith("\n"), "a stream of whole lines"
    events = [json.loads(line) for line in text.splitlines()]
    for event in events:
        errors = [e.message for e in VALIDATOR.iter_errors(event)]
        assert errors == [], (event, errors)
    results = [e for e in events if e["event"] == "result"]
    assert len(results) == 1 and events[-1] is results[0], "exactly one result, last"
    return events


def test_every_json_command_keeps_the_contract_in_a_subprocess(
    stacks_copy, state_dir, health, tmp_path
):
    """The real CLI in its own process, as a workflow runs it: every command that takes --json,
    on success and on bad input, each line valid against the schema."""
    import os
    import subprocess
    import sys

    from tests.conftest import PROJECT_DIR

    env = dict(os.environ, NO_COLOR="1", STAGELINE_FAKE_HEALTH_URL=health.url)
    where = ["--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)]
    ran: set[str] = set()

    def run(*args: str, code: int = 0) -> list[dict]:
        done = subprocess.run(
            [sys.executable, "-m", "pipeline", *args, *where, "--json"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == code, (args, done.stderr[-2000:])
        events = _lines(done.stdout)
        result = events[-1]
        assert result["code"] == code and result["outcome"] and result["message"], result
        ran.add(result["command"])
        return events

    seed = images("c")
    created = run("release", "create", *[f"--image={s}={i}" for s, i in seed.items()])
    release = created[-1]["release"]
    assert created[-1]["outcome"] == "created"
    assert run("release", "show", release)[0]["images"] == seed
    assert [e["id"] for e in run("release", "list")[:-1]] == [release]
    rehearsed = run("promote", release, "--to", "dev", "--rehearse")[-1]
    assert rehearsed["outcome"] == "rehearsed" and rehearsed["rehearsal"]["stages"], rehearsed
    promoted = run("promote", release, "--to", "test", "--deployer", FAKE, "--health-timeout", "5")
    assert promoted[-1]["outcome"] == "promoted", promoted[-1]
    status = run("status", "--deployer", FAKE)
    assert {e["stack"]: e["runs"] for e in status if e["event"] == "stage"}["test"] == release
    assert {e.get("stage") for e in run("history") if e["event"] == "entry"} >= {"dev", "test"}
    assert run("metrics", "--stage", "test")[-1]["metrics"]["deployments"] == 1
    assert run("ledger", "verify")[-1]["outcome"] == "verified"
    stages = run("stages")[-1]
    assert [s["stack"] for s in stages["stacks"] if s["pipeline"] == "aws"] == [
        "dev",
        "test",
        "staging",
        "live",
    ]
    assert {p["pipeline"]: p["auto"] for p in stages["pipelines"]}["aws"] == "staging"
    pinned = run("record", "pin", "--stack", "dev", "--repo", str(stacks_copy.parent))[-1]
    assert pinned["outcome"] == "pinned" and pinned["release"] == release
    assert release in (stacks_copy / "Pulumi.dev.yaml").read_text()
    nothing = run("record", "pin", "--stack", "live", "--repo", str(stacks_copy.parent))[-1]
    assert nothing["outcome"] == "nothing to do" and nothing["release"] is None
    engine = "tests.reconcile.fakes:engine"  # issue 26: a drift engine over a file
    reconciled = run("reconcile", "--pipeline", "aws", "--deployer", engine)
    assert {e["stack"] for e in reconciled if e["event"] == "reconcile"} == set(
        reconciled[-1]["stages"]
    )
    # Review stages need the engine and a Docker host (tests/dockerlane/test_review.py); here
    # the contract of their refusals.
    run("review", "up", "--pr", "7", "--release", "r-0123456789abcdef", code=2)
    run("review", "down", "--pr", "7", "--pipeline", "gcp", code=2)
    run("review", "sweep", "--ttl-hours", "-1", code=2)
    assert ran == _json_commands(), "every command with --json is run here"

    # Bad input and bad usage end in one result too, naming the command given.
    refused = run("promote", release, "--to", "lve", "--deployer", FAKE, code=2)[-1]
    assert refused["outcome"] == "refused" and "did you mean 'live'?" in refused["message"]
    usage = run("history", "--limit", "0", code=2)[-1]
    assert usage["command"] == "history" and "at least 1" in usage["message"]
    assert run("record", "pin", code=2)[-1]["command"] == "record pin"
