"""The local stage for real: the engine built from source, the docker provider built from source,
a Docker engine on this machine, images built here and pulled by digest from a loopback registry.

The tests run in file order on one stack: up from nothing, what answers, a refresh without drift,
a new release that changes only the services, the policy pack, and destroy.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components import project
from pipeline.promote.diff import REPLACE_OPS, desired_state_diff
from tests.conftest import render
from tests.dockerlane.lane import STACK, Lane, LaneUnavailableError, docker, https_get, wait_for

pytestmark = pytest.mark.docker

CONTAINER = "docker:index/container:Container"
VOLUME = "docker:index/volume:Volume"


@pytest.fixture(scope="module")
def lane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lane]:
    try:
        lane = Lane.create(tmp_path_factory.mktemp("docker-lane"))
    except LaneUnavailableError as exc:
        if os.environ.get("STAGELINE_DOCKER_LANE_REQUIRED"):  # make docker-lane checked for it
            pytest.fail(f"DOCKER LANE FAILED: {exc}")
        pytest.skip(f"DOCKER LANE NOT RUN: {exc}")
    lane.sandbox.init(STACK)
    lane.configure("r1", "app")
    yield lane
    # Whatever a failed test left: the stage's containers, networks and volumes go.
    lane.pulumi("destroy", "--yes", "--skip-preview", check=False)


def _health(lane: Lane, container_id: str) -> tuple[str, str, int]:
    fmt = "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}"
    status, health = docker(lane.env, "inspect", "-f", fmt, container_id).stdout.split()
    code = docker(lane.env, "inspect", "-f", "{{.State.ExitCode}}", container_id).stdout
    return status, health, int(code)


def test_up_from_nothing_brings_every_container_up_healthy(lane: Lane) -> None:
    out = lane.pulumi("up", "--yes", "--skip-preview")
    assert "error" not in out.stderr.lower(), out.stderr
    containers = lane.labelled("container")
    assert len(containers) == 9, containers

    def settled() -> list[tuple[str, str, int]] | None:
        states = [_health(lane, c) for c in containers]
        running = [s for s in states if s[0] == "running"]
        done = [s for s in states if s[0] == "exited"]
        if all(s[1] == "healthy" for s in running) and all(s[2] == 0 for s in done):
            return states
        return None

    states = wait_for(settled, 180, "every container healthy, every one-shot exited 0")
    # Six long-running (database, storage, proxy, two services... and none restarting).
    assert sum(1 for s in states if s[0] == "running") == 5, states
    assert sum(1 for s in states if s[0] == "exited") == 4, states


def test_each_public_service_answers_through_the_tls_proxy(lane: Lane) -> None:
    outputs = lane.outputs()
    ca = lane.ca_pem()
    for service, url in outputs["serviceUrls"].items():
        host, port = url.removeprefix("https://").split(":")
        path = outputs["healthPaths"][service]

        def answer(host: str = host, port: str = port, path: str = path) -> str | None:
            try:
                status, body = https_get(host, int(port), path, ca)
            except OSError:
                return None
            return body if status == 200 else None

        body = wait_for(answer, 90, url)
        assert json.loads(body)["release"] == "r1", body
    # Another name is not served with the stage's certificate for it.
    port = int(next(iter(outputs["serviceUrls"].values())).rsplit(":", 1)[1])
    with pytest.raises(OSError):
        https_get("elsewhere.example", port, "/", ca)


def _private_network(lane: Lane) -> str:
    for network in lane.labelled("network"):
        info = json.loads(docker(lane.env, "network", "inspect", network).stdout)[0]
        if info["Internal"]:
            return str(info["Name"])
    raise AssertionError("the stage has no internal network")


def _client(lane: Lane, image: str, script: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A throwaway client on the stage's private network (traffic stays on it)."""
    args = ["run", "--rm", "--network", _private_network(lane), "--entrypoint", "/bin/sh"]
    for key, value in env.items():
        args += ["-e", f"{key}={value}"]
    return docker(lane.env, *args, image, "-c", script, check=False)


def test_database_answers_over_tls_verify_full_and_refuses_a_wrong_password(lane: Lane) -> None:
    password = lane.resource("random:index/randomPassword:RandomPassword", "database-password")
    secret = password["outputs"]["result"]
    server = lane.resource(CONTAINER, "-database-postgres")["inputs"]
    env = dict(e.split("=", 1) for e in server["envs"])
    connect = (
        'printf "%s" "$CA" > /tmp/ca.crt && psql "host=database port=5432'
        f" dbname={env['POSTGRES_DB']} user={env['POSTGRES_USER']}"
        ' sslmode=verify-full sslrootcert=/tmp/ca.crt"'
        ' -tAc "select ssl from pg_stat_ssl where pid = pg_backend_pid()"'
    )
    image = lane.images["postgres-16"]
    good = _client(lane, image, connect, CA=lane.ca_pem(), PGPASSWORD=secret)
    assert good.returncode == 0 and good.stdout.strip() == "t", good.stdout + good.stderr
    wrong = _client(lane, image, connect, CA=lane.ca_pem(), PGPASSWORD=secret + "x")
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr, wrong


def test_storage_user_reads_and_writes_its_bucket_and_cannot_create_another(lane: Lane) -> None:
    password = lane.resource("random:index/randomPassword:RandomPassword", "app-password")
    bucket = lane.outputs()["bucketName"]
    user = project.physical("app")
    script = (
        'mkdir -p /tmp/mc/certs/CAs && printf "%s" "$CA" > /tmp/mc/certs/CAs/ca.crt'
        f' && mc --config-dir /tmp/mc alias set s https://storage:9000 {user} "$PW" >/dev/null'
        f" && echo lane-probe | mc --config-dir /tmp/mc pipe s/{bucket}/probe >/dev/null"
        f" && mc --config-dir /tmp/mc cat s/{bucket}/probe"
        f" && ! mc --config-dir /tmp/mc mb s/{bucket}-other"
    )
    out = _client(
        lane, lane.images["mc"], script, CA=lane.ca_pem(), PW=password["outputs"]["result"]
    )
    assert out.returncode == 0 and out.stdout.strip() == "lane-probe", out.stdout + out.stderr
    assert "Access Denied" in out.stdout + out.stderr, out.stdout + out.stderr


def test_a_refreshed_preview_right_after_up_expects_no_changes(lane: Lane) -> None:
    out = lane.pulumi("preview", "--refresh", "--expect-no-changes", check=False)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def _ids(lane: Lane) -> dict[str, str]:
    return {r["urn"]: r["id"] for r in lane.state() if r["type"] in (CONTAINER, VOLUME)}


def _offline(lane: Lane) -> list[dict[str, Any]]:
    """The lane's stack file rendered offline, as `diff` and a promotion's rehearsal see it."""
    stage = render(lane.sandbox.project / "stacks", STACK)[STACK]
    assert stage.error is None, stage.error
    return stage.resources


def test_a_new_release_changes_only_the_services(lane: Lane) -> None:
    before = _ids(lane)
    predicted_from = _offline(lane)
    lane.configure("r2", "app-v2")
    predicted = {
        c.urn: "replace" if c.op in REPLACE_OPS else c.op
        for c in desired_state_diff(predicted_from, _offline(lane))
        if c.op != "same"
    }
    preview = json.loads(lane.pulumi("preview", "--json").stdout)
    changed = {
        s["urn"]: "replace" if s["op"] in REPLACE_OPS else s["op"]
        for s in preview.get("steps", [])
        if s["op"] not in ("same", "read")
    }
    assert changed, "a new release changes nothing"
    for urn in changed:
        assert f"${project.name()}:docker:Services$" in urn, urn
    # The offline diff and the replacement table (components/docker/replacement.yaml) predicted
    # exactly what the real engine and provider plan; the stack itself only reports outputs.
    changed.pop(next((u for u in changed if "pulumi:pulumi:Stack" in u), ""), None)
    assert changed == predicted
    lane.pulumi("up", "--yes", "--skip-preview")
    after = _ids(lane)
    database = [u for u in before if u.endswith("-database-postgres")]
    volumes = [u for u in before if "::" in u and VOLUME in u]
    assert database and after[database[0]] == before[database[0]]
    assert volumes and all(after[v] == before[v] for v in volumes)
    outputs, ca = lane.outputs(), lane.ca_pem()
    for service, url in outputs["serviceUrls"].items():
        host, port = url.removeprefix("https://").split(":")
        path = outputs["healthPaths"][service]

        def r2(host: str = host, port: str = port, path: str = path) -> bool:
            try:
                status, body = https_get(host, int(port), path, ca)
            except OSError:
                return False
            return status == 200 and json.loads(body)["release"] == "r2"

        wait_for(r2, 120, f"{service} answering with r2")


def _policy_preview(lane: Lane, project_dir: Path) -> subprocess.CompletedProcess[str]:
    args = ["preview", "--policy-pack", "policies", "--policy-pack-config",
            "policies/config/local.json"]  # fmt: skip
    return lane.pulumi(*args, check=False)


def test_the_real_preview_with_the_policy_pack_passes_and_a_violation_fails(lane: Lane) -> None:
    ok = _policy_preview(lane, lane.sandbox.project)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-2000:]
    services = lane.sandbox.project / "components" / "docker" / "services.py"
    source = services.read_text()
    assert "read_only=True" in source
    services.write_text(source.replace("read_only=True", "read_only=False"))
    try:
        bad = _policy_preview(lane, lane.sandbox.project)
    finally:
        services.write_text(source)
    assert bad.returncode != 0
    assert "docker-container-read-only-root" in bad.stdout + bad.stderr, bad.stdout[-3000:]


def test_destroy_leaves_no_container_network_or_volume(lane: Lane) -> None:
    lane.pulumi("destroy", "--yes", "--skip-preview")
    for kind in ("container", "network", "volume"):
        assert lane.labelled(kind) == [], kind
