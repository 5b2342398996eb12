"""The promotion commands end to end through ``python -m pipeline`` (in process), over the fake
cloud, with the health checks answered by a real local HTTP server."""

from __future__ import annotations

import json

import pytest

from pipeline.cli import main
from tests.promote.record_reader import ledger_entries

FAKE = "tests.promote.fakes:file_deployer"


@pytest.fixture
def cli(stacks_copy, state_dir, health, monkeypatch):
    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)

    def run(*args: str) -> int:
        return main([*args, "--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)])

    return run


def lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def promote(cli, release, *args):
    return cli("promote", release, *args, "--deployer", FAKE, "--health-timeout", "1", "--json")


def test_promote_status_history_metrics(cli, make_release_in, cloud, capsys, state_dir):
    release = make_release_in("a")
    assert promote(cli, release.id, "--to", "test") == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[-1]["event"] == "result" and events[-1]["outcome"] == "promoted"
    assert {(e.get("stage"), e.get("step")) for e in events if e["event"] == "step"} >= {
        ("dev", "up"),
        ("test", "verify"),
    }
    assert cloud.runs("test") == release.id

    assert cli("status", "--deployer", FAKE, "--json") == 0
    rows = {r["stack"]: r for r in lines(capsys) if r["event"] == "stage"}
    assert rows["test"]["runs"] == release.id
    assert rows["staging"]["next_release"] == release.id
    assert rows["staging"]["next_verdict"] == "eligible"
    assert rows["live"]["next_release"] is None

    assert cli("history", "--json", "--stage", "dev") == 0
    history = [e for e in lines(capsys) if e["event"] == "entry"]
    assert {e["stage"] for e in history} == {"dev"} and len(history) == 9

    assert cli("metrics", "--stage", "test", "--json") == 0
    metrics = lines(capsys)[-1]["metrics"]
    assert metrics["deployments"] == 1 and metrics["changeFailureRate"] == 0.0
    assert metrics["leadTimeHoursMedian"] is not None
    assert cli("ledger", "verify") == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--to", "prod"], "no stage 'prod'"),
        (["--to", "live"], "requires approval"),
        (["--to", "live", "--approve"], "--approve and --approver NAME go together"),
        (["--to", "dev", "--rollback"], "never verified"),
        (["--to", "dev", "--pipeline", "gcp"], "no pipeline 'gcp'"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    cli, make_release_in, cloud, capsys, state_dir, args, says
):
    release = make_release_in("b")
    assert promote(cli, release.id, *args) == 2
    captured = capsys.readouterr()
    assert says in captured.err + captured.out
    assert ledger_entries(state_dir) == []
    assert cloud.read()["calls"] == []


def test_unknown_release_and_verification_failure(cli, make_release_in, cloud, capsys):
    assert promote(cli, "r-0000000000000000", "--to", "dev") == 2
    release = make_release_in("c")
    cloud.set_fault("dev", "verify", f"wrong-version:{release.id}")
    assert promote(cli, release.id, "--to", "dev") == 1
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["outcome"] == "rolled back" and "r-old" in result["message"]
    assert cloud.runs("dev") == "bootstrap"


def test_rehearse_refuses_an_unknown_release(cli, capsys):
    assert cli("promote", "r-0000000000000000", "--to", "live", "--rehearse") == 2
    assert "no release" in capsys.readouterr().err


def test_the_pipeline_follows_from_a_unique_stage_name(cli, make_release_in, cloud, capsys):
    """azure-dev is in one pipeline only: no --pipeline azure needed."""
    release = make_release_in("d")
    assert promote(cli, release.id, "--to", "azure-dev") == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["outcome"] == "promoted", result
    assert cloud.runs("azure-dev") == release.id
