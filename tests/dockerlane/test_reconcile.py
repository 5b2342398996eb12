"""Drift on real containers, healed from the record: two local stages (``pipelines.docker``) on
this machine's Docker engine, changed out of band with the Docker CLI (a container removed, a
container's memory changed), then ``reconcile`` run by the project's own CLI with the real
engine. dev (autoPromote) is healed from its record and
answers its recorded release again, after which ``preview --refresh --expect-no-changes`` from
its record passes; live (approval required) is only proposed, and left as it was found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dockerlane.lane import Lane, LaneUnavailableError, https_get, wait_for
from tools.demo.local_pipeline import LocalPipeline, git

pytestmark = pytest.mark.docker

CONTAINER = "docker:index/container:Container"
DEV, LIVE = "local-dev", "local-live"


@pytest.fixture(scope="module")
def pipe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPipeline]:
    tmp = tmp_path_factory.mktemp("reconcile")
    try:
        lane = Lane.create(tmp)
    except LaneUnavailableError as exc:
        if os.environ.get("STAGELINE_DOCKER_LANE_REQUIRED"):
            pytest.fail(f"DOCKER LANE FAILED: {exc}")
        pytest.skip(f"DOCKER LANE NOT RUN: {exc}")
    pipeline = LocalPipeline.create(lane, tmp)
    try:
        for stack in (DEV, LIVE):
            out = pipeline.up(stack)
            assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
        yield pipeline
    finally:
        left = pipeline.teardown()
        print("\nreconcile lane timings (s):", json.dumps(pipeline.timings, indent=1))
        assert not left, left


def answers(pipe: LocalPipeline, stack: str, release: str) -> bool:
    outputs = pipe.outputs(stack)
    for service in ("api", "web"):
        host, port = outputs["serviceUrls"][service].removeprefix("https://").split(":")
        try:
            status, body = https_get(
                host, int(port), outputs["healthPaths"][service], outputs["caCertificate"]
            )
        except OSError:
            return False
        if status != 200 or json.loads(body).get("release") != release:
            return False
    return True


def service_container(pipe: LocalPipeline, stack: str, service: str) -> str:
    """The provider id of the first replica of ``service`` (not its file writer)."""
    found = [
        i
        for urn, i in pipe.ids(stack, CONTAINER).items()
        if ":docker:Services$" in urn and urn.endswith(f"-{service}-0")
    ]
    assert len(found) == 1, pipe.ids(stack, CONTAINER)
    return found[0]


def test_reconcile_heals_dev_from_its_record_and_proposes_live(
    pipe: LocalPipeline, tmp_path: Path
) -> None:
    release = pipe.release("app-v2")
    done = pipe.cli("promote", release, "--to", DEV, "--health-timeout", "180")
    assert done.code == 0, done.describe()
    in_sync = pipe.cli("reconcile", "--stage", DEV)
    assert in_sync.code == 0 and in_sync.result["stages"] == {DEV: "in sync"}, in_sync.describe()

    # Out of band: dev loses its api container and its web container's memory is changed;
    # live loses its web container.
    dev_api, live_web = service_container(pipe, DEV, "api"), service_container(pipe, LIVE, "web")
    dev_web = service_container(pipe, DEV, "web")
    for container in (dev_api, live_web):
        removed = pipe.docker("rm", "-f", container)
        assert removed.returncode == 0, removed.stderr
    changed = pipe.docker("update", "--memory", "300m", "--memory-swap", "300m", dev_web)
    assert changed.returncode == 0, changed.stderr
    assert not answers(pipe, DEV, release)

    healed = pipe.cli("reconcile", "--stage", DEV, "--health-timeout", "180")
    assert healed.code == 0, healed.describe()
    (said,) = [e for e in healed.events if e.get("event") == "reconcile"]
    assert said["outcome"] == "healed" and said["drifted"], said
    ops = {c["urn"].rsplit("::", 1)[-1]: c["op"] for c in said["changes"]}
    assert any(u.endswith("-api-0") and op == "create" for u, op in ops.items()), ops
    assert any(u.endswith("-web-0") and op != "same" for u, op in ops.items()), ops
    assert service_container(pipe, DEV, "api") != dev_api  # a new container, from the record
    memory = pipe.docker(
        "inspect", "-f", "{{.HostConfig.Memory}}", service_container(pipe, DEV, "web")
    )
    assert memory.stdout.strip() == str(256 * 1024 * 1024), memory.stdout
    wait_for(lambda: answers(pipe, DEV, release), 120, "dev answering its recorded release")

    proposed = pipe.cli("reconcile", "--stage", LIVE, "--health-timeout", "60")
    assert proposed.code == 1, proposed.describe()
    (said,) = [e for e in proposed.events if e.get("event") == "reconcile"]
    assert said["outcome"] == "proposed" and said["remedy"] == "propose", said
    assert "--approve --approver" in said["detail"], said
    assert pipe.docker("inspect", live_web).returncode != 0  # live was left as it was found

    # What dev's record deploys is exactly what runs again.
    clone = pipe.clone(tmp_path / "clone")
    record = tmp_path / "dev-record"
    git(clone, "worktree", "add", "-q", "--detach", str(record), f"origin/stages/{DEV}")
    (record / ".venv").symlink_to((pipe.project / ".venv").resolve())
    out = pipe.pulumi(DEV, "preview", "--refresh", "--expect-no-changes", cwd=record)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]

    # The proposal approved: live is healed too (and its web container is back).
    approved = ["--approve", "--approver", "ops@example.com", "--health-timeout", "180"]
    healed = pipe.cli("reconcile", "--stage", LIVE, *approved)
    assert healed.code == 0 and healed.result["stages"] == {LIVE: "healed"}, healed.describe()
    assert service_container(pipe, LIVE, "web") != live_web

    entries = [e for e in pipe.cli("history", "--all").events if e.get("step") == "reconcile"]
    assert [(e["stage"], e["outcome"]) for e in entries] == [
        (DEV, "in sync"),
        (DEV, "healed"),
        (LIVE, "proposed"),
        (LIVE, "healed"),
    ]
    assert entries[-1]["approver"] == "ops@example.com"
    metrics = pipe.cli("metrics", "--stage", DEV).result["metrics"]
    assert (metrics["driftEvents"], metrics["driftHealed"]) == (1, 1), metrics
    verified = pipe.cli("ledger", "verify")
    assert verified.code == 0, verified.describe()
