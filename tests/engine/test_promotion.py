"""A whole promotion on the real engine: dev -> test -> staging -> live, then a rollback.

The deployer is `AutomationDeployer`, the code every real promotion runs. Verification is the
real `HealthCheck` polling real HTTP: a local server stands in for the services, answering each
stage's health path with the release the engine's own state (the `file://` backend's checkpoint)
says that stage runs, as a deployed task would report its version. The service URLs in the
outputs are mapped to that server the way DNS maps `{service}.{domain}` to a load balancer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.definition import load_pipeline
from pipeline.promote.automation import AutomationDeployer
from pipeline.promote.orchestrator import EXIT_OK, Orchestrator, Request, stage_policy
from pipeline.promote.release import make_release
from pipeline.promote.verification import HealthCheck, VerifyResult
from pipeline.record.local import LocalGitState
from tests.engine.conftest import Sandbox
from tests.promote.conftest import backdate_verification
from tests.promote.typed_entries import stored

pytestmark = pytest.mark.engine

AWS = ("dev", "test", "staging", "live")


def _images(seed: str) -> dict[str, str]:
    return {s: f"ghcr.io/stageline/{s}@sha256:{seed * 64}" for s in ("api", "web")}


class EngineBackedServices(ThreadingHTTPServer):
    """GET /<stack>/<service>/healthz answers {"version": <release the engine's state records>}."""

    def __init__(self, state: Path) -> None:
        self.state = state

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler) -> None:  # noqa: N805 - the server is `self` above
                stack = handler.path.strip("/").split("/")[0]
                body = json.dumps({"version": self.release_of(stack)}).encode()
                handler.send_response(200)
                handler.send_header("Content-Type", "application/json")
                handler.end_headers()
                handler.wfile.write(body)

            def log_message(handler, *args: Any) -> None:  # noqa: N805
                return

        super().__init__(("127.0.0.1", 0), Handler)

    def release_of(self, stack: str) -> str | None:
        for path in (self.state / ".pulumi" / "stacks").glob(f"*/{stack}.json"):
            latest = json.loads(path.read_text())["checkpoint"].get("latest") or {}
            for resource in latest.get("resources") or []:
                if resource["type"] == "pulumi:pulumi:Stack":
                    return (resource.get("outputs") or {}).get("release")
        return None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def services(fresh: Sandbox) -> Iterator[EngineBackedServices]:
    server = EngineBackedServices(fresh.state)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_promotion_through_every_stage_then_rollback(
    fresh: Sandbox,
    services: EngineBackedServices,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for key, value in fresh.env.items():
        monkeypatch.setenv(key, value)
    fresh.commit_all("the project as the release pins it")  # a release names its commit
    for stack in AWS:  # what the stages run today: the bootstrap release, deployed for real
        fresh.init(stack)
        fresh.pulumi("up", "--yes", "--skip-preview", stack=stack)

    check = HealthCheck(timeout=30, interval=0.2)

    def verify(stage: str, outputs: Mapping[str, Any], release: str) -> VerifyResult:
        urls = {s: f"{services.url}/{stage}/{s}" for s in outputs.get("serviceUrls") or {}}
        return check(stage, {**outputs, "serviceUrls": urls}, release)

    state = LocalGitState(tmp_path / "promotion")  # as --state-dir opens it
    first, _ = state.save_release(make_release(fresh.project, _images("1")))
    second, _ = state.save_release(make_release(fresh.project, _images("2")))
    deployer = AutomationDeployer(fresh.project, tmp_path / "plans")
    orch = Orchestrator(
        deployer,
        load_pipeline(fresh.project / "stacks"),
        state,
        policy=stage_policy(fresh.project, None, None),
        verify=verify,
        services=frozenset({"api", "web"}),
    )

    done = orch.promote(Request(first.id, "staging"))
    assert done.code == EXIT_OK, done.message
    assert [deployer.outputs(s)["release"] for s in AWS] == [first.id] * 3 + ["bootstrap"]
    # Staging's soak is measured from its recorded verification against the real clock.
    backdate_verification(orch.ledger, "staging", first.id, 1.1)
    refused = orch.promote(Request(first.id, "live"))
    assert refused.code != EXIT_OK and "approv" in refused.message, refused.message
    done = orch.promote(Request(first.id, "live", approver="reviewer@example.com"))
    assert done.code == EXIT_OK, done.message
    assert services.release_of("live") == first.id

    # The next release reaches dev, then dev is rolled back to the first by the real engine.
    assert orch.promote(Request(second.id, "dev")).code == EXIT_OK
    assert services.release_of("dev") == second.id
    back = orch.promote(Request(first.id, "dev", rollback=True))
    assert back.code == EXIT_OK, back.message
    assert deployer.outputs("dev")["release"] == first.id
    assert deployer.outputs("dev")["digests"]["api"] == "sha256:" + "1" * 64
    approvals = [e for e in stored(orch.ledger.entries()) if e.get("approver")]
    assert any(e["approver"] == "reviewer@example.com" for e in approvals)
