"""Review stages on real containers: beside a regular stage (local-dev) of the docker pipeline,
``review up`` brings up the stages of two pull requests from the head's release, each on its
own network and ports, answering the head's release; ``review down`` leaves nothing of one;
``review sweep`` keeps the other while it is fresh and destroys it once expired. Nothing of a
review stage reaches the stages' record or the ledger."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.dockerlane.lane import https_get, stages_up
from tools.demo.local_pipeline import LocalPipeline, git

pytestmark = pytest.mark.docker

DEV = "local-dev"


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPipeline]:
    tmp = tmp_path_factory.mktemp("review")
    # pr7, pr8: whatever a failed test left of a review stage
    with stages_up(tmp, (DEV,), "review lane", extra=("pr7", "pr8")) as pipe:
        yield pipe


def review_outputs(pipe: LocalPipeline, stack: str) -> dict[str, Any]:
    where = pipe.project / ".git" / "stageline" / "review" / stack
    out = pipe.pulumi(stack, "stack", "output", "--json", "--show-secrets", cwd=where)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def answer(outputs: dict[str, Any], service: str) -> tuple[int, str]:
    host, port = outputs["serviceUrls"][service].removeprefix("https://").split(":")
    path = outputs["healthPaths"][service]
    return https_get(host, int(port), path, outputs["caCertificate"])


def left_of(pipe: LocalPipeline, stage: str) -> dict[str, list[str]]:
    return {k: pipe.labelled(stage, k) for k in ("container", "volume", "network")}


def test_review_stages_come_up_beside_the_pipeline_and_go(pipe: LocalPipeline) -> None:
    # The pull request's head: a commit of its own on a branch, released with app 2.0.0.
    git(pipe.project, "checkout", "-q", "-b", "feature")
    (pipe.project / "CHANGES.md").write_text("A change under review.\n")
    git(pipe.project, "add", "CHANGES.md")
    git(pipe.project, "commit", "-q", "-m", "a change under review")
    head = git(pipe.project, "rev-parse", "HEAD")
    release = pipe.release("app-v2")
    git(pipe.project, "checkout", "-q", "main")

    made = {}
    for pr in (7, 8):
        up = pipe.cli(
            "review",
            "up",
            "--pipeline",
            "docker",
            "--pr",
            str(pr),
            "--release",
            release,
            "--health-timeout",
            "180",
        )
        assert up.code == 0, up.describe()
        made[pr] = up.result
        assert made[pr]["stack"] == f"pr{pr}-docker" and made[pr]["release"] == release
    nets = [ipaddress.ip_network(made[pr]["cidr"]) for pr in (7, 8)]
    assert not nets[0].overlaps(nets[1]), nets
    for pr in (7, 8):
        outputs = review_outputs(pipe, f"pr{pr}-docker")
        assert outputs["release"] == release
        for service in ("api", "web"):
            status, body = answer(outputs, service)
            assert status == 200 and json.loads(body)["release"] == release, (pr, status, body)
        assert set(made[pr]["urls"]) == {"api", "web"}
    ports = {made[pr]["urls"]["api"] for pr in (7, 8)} | {pipe.outputs(DEV)["serviceUrls"]["api"]}
    assert len(ports) == 3, ports  # three stages, three endpoints
    ours = {pr: set(pipe.labelled(f"pr{pr}", "container")) for pr in (7, 8)}
    assert ours[7] and ours[8] and not ours[7] & ours[8]
    assert not (ours[7] | ours[8]) & set(pipe.labelled("local-dev", "container"))
    worktree = pipe.project / ".git" / "stageline" / "review" / "pr7-docker"
    assert git(worktree, "rev-parse", "HEAD") == head  # it runs the head, not main

    down = pipe.cli("review", "down", "--pipeline", "docker", "--pr", "7")
    assert down.code == 0 and down.result["outcome"] == "destroyed", down.describe()
    assert left_of(pipe, "pr7") == {"container": [], "volume": [], "network": []}
    assert not worktree.exists()
    again = pipe.cli("review", "down", "--pipeline", "docker", "--pr", "7")
    assert again.code == 0 and again.result["outcome"] == "nothing to destroy", again.describe()

    fresh = pipe.cli("review", "sweep", "--ttl-hours", "24")
    assert fresh.code == 0 and fresh.result["kept"] == ["pr8-docker"], fresh.describe()
    assert fresh.result["swept"] == [] and pipe.labelled("pr8", "container")
    expired = pipe.cli("review", "sweep", "--ttl-hours", "0")
    assert expired.code == 0 and expired.result["swept"] == ["pr8-docker"], expired.describe()
    assert left_of(pipe, "pr8") == {"container": [], "volume": [], "network": []}

    # The regular stage still answers, and no review stage is in the record or the ledger.
    status, _ = answer(pipe.outputs(DEV), "api")
    assert status == 200
    refs = git(pipe.project, "ls-remote", "origin")
    assert "stages/pr" not in refs, refs
    entries = [e for e in pipe.cli("history", "--all").events if e.get("event") == "entry"]
    assert not [e for e in entries if str(e.get("stage", "")).startswith("pr")], entries
    stacks = pipe.pulumi(DEV, "stack", "ls", "--json")
    assert "pr7-docker" not in stacks.stdout and "pr8-docker" not in stacks.stdout
