"""Promotion copies the release's images into each stage's registry before its preview.

Two real registries on loopback (Debian's docker-registry): the release's, holding real images
the test builds and pushes, and the stages', which the test deployer reports as each stage's
``repositoryUrls`` output (as a real stack does: components/environment.py). After a stage's
step its registry serves every release digest; a source image that does not exist stops the
promotion before any preview, with nothing recorded as deployed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.definition import load_pipeline
from pipeline.promote.images import Skopeo
from pipeline.promote.orchestrator import Orchestrator, Request
from pipeline.promote.release import make_release
from pipeline.promote.verification import HealthCheck
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import SERVICES
from tests.promote.fakes import FileDeployer
from tests.promote.record_reader import ledger_entries, record
from tests.promote.registries import Registry, oci_layout, push, registry_pair, serves

LOCAL = Skopeo(tls_verify=False)  # the loopback registries speak plain http
STAGE_REGISTRY = "STAGELINE_TEST_STAGE_REGISTRY"


class RegistryDeployer(FileDeployer):
    """The fake cloud, whose stacks report one repository per service in a real registry."""

    def __init__(self, *args: Any, registry: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registry = registry

    def outputs(self, stack: str) -> Mapping[str, Any]:
        urls = {s: f"{self.registry}/{stack}/registry-{s}" for s in SERVICES}
        return {**super().outputs(stack), "repositoryUrls": urls}


def registry_deployer(project_dir: Path, stacks_dir: Path, state_dir: Path) -> RegistryDeployer:
    """``--deployer tests.promote.test_image_promotion:registry_deployer``."""
    return RegistryDeployer(
        stacks_dir,
        state_dir,
        os.environ.get("STAGELINE_FAKE_HEALTH_URL", ""),
        registry=os.environ[STAGE_REGISTRY],
    )


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, Registry]]:
    with registry_pair(tmp_path_factory.mktemp("registries"), "the promotion's image copy") as pair:
        yield pair


@pytest.fixture(scope="module")
def pushed(
    registries: tuple[Registry, Registry], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """One real image per service in the release's registry, named by digest."""
    source, _ = registries
    images = {}
    for service in SERVICES:
        layout = tmp_path_factory.mktemp(service) / "layout"
        digest = oci_layout(layout, f"{service} release\n".encode())
        push(layout, f"{source.host}/team/{service}:seed")
        images[service] = f"{source.host}/team/{service}@{digest}"
    return images


@pytest.fixture
def deployer(
    registries: tuple[Registry, Registry], stacks_copy: Path, state_dir: Path, health: Any
) -> RegistryDeployer:
    cloud = RegistryDeployer(stacks_copy, state_dir, health.url, registry=registries[1].host)
    _runs_from(cloud, registries[0])
    health.deployer = cloud
    return cloud


def _runs_from(cloud: FileDeployer, source: Registry) -> None:
    """Every fake stack runs an earlier release from the same repositories, so the preview
    differs by digest only (a real TaskDefinition names the stage's repository, never the
    source: the gate compares digests)."""
    with cloud._state() as state:
        for entry in state["stacks"].values():
            older = {s: f"{source.host}/team/{s}@sha256:{'1' * 64}" for s in SERVICES}
            entry["config"] = entry["deployed"] = {"release": "r-older", "images": older}


def _release(state_dir: Path, images: dict[str, str]) -> str:
    release, _ = record(state_dir).save_release(make_release(PROJECT_DIR, images))
    return release.id


def _orchestrator(cloud: FileDeployer, stacks: Path, state_dir: Path, events: list) -> Orchestrator:
    return Orchestrator(
        cloud,
        load_pipeline(stacks),
        record(state_dir),
        verify=HealthCheck(timeout=0.6, interval=0.05),
        services=frozenset(SERVICES),
        images=LOCAL,
        events=lambda event, **fields: events.append({"event": event, **fields}),
    )


def _steps(state_dir: Path, stage: str) -> list[tuple[str, str]]:
    entries = ledger_entries(state_dir)
    return [(e["step"], e["status"]) for e in entries if e.get("stage") == stage]


def test_each_stage_registry_holds_the_release_digests_before_its_preview(
    registries, pushed, deployer, stacks_copy, state_dir
):
    _, stages = registries
    release = _release(state_dir, pushed)
    events: list[dict[str, Any]] = []
    outcome = _orchestrator(deployer, stacks_copy, state_dir, events).promote(
        Request(release, "test")
    )
    assert outcome.code == 0, outcome.message
    for stack in ("dev", "test"):
        for service, image in pushed.items():
            digest = image.rsplit("@", 1)[1]
            assert serves(stages.host, f"{stack}/registry-{service}", digest), (stack, service)
        steps = _steps(state_dir, stack)
        # The copy completes before the preview starts, and is recorded with what it copied.
        assert steps.index(("copy-images", "completed")) < steps.index(("preview", "started"))
    notes = [e["message"] for e in events if e["event"] == "note" and e.get("stage") == "dev"]
    assert any(n.startswith("api: copied, arrived as sha256:") for n in notes), notes


def test_a_missing_source_image_stops_before_the_preview(
    registries, pushed, deployer, stacks_copy, state_dir
):
    _, stages = registries
    missing = pushed["api"].rsplit("@", 1)[0] + "@sha256:" + "0" * 64
    release = _release(state_dir, pushed | {"api": missing})
    before = deployer.runs("dev")
    outcome = _orchestrator(deployer, stacks_copy, state_dir, []).promote(Request(release, "dev"))
    assert (outcome.code, outcome.outcome) == (1, "stopped"), outcome.message
    assert outcome.message.startswith("dev: image copy failed: copy api: "), outcome.message
    assert "\n" not in outcome.message
    calls = deployer.read()["calls"]
    assert "dev:preview" not in calls and "dev:up" not in calls, calls
    assert deployer.runs("dev") == before
    assert deployer.read()["stacks"]["dev"]["config"]["release"] == before  # config restored
    steps = _steps(state_dir, "dev")
    assert ("copy-images", "failed") in steps and ("up", "started") not in steps, steps
    assert not serves(stages.host, "dev/registry-api", "sha256:" + "0" * 64)


def test_a_service_without_a_repository_stops_before_the_preview(
    registries, pushed, stacks_copy, state_dir, health
):
    class NoWebRepository(RegistryDeployer):
        def outputs(self, stack: str) -> Mapping[str, Any]:
            out = dict(super().outputs(stack))
            out["repositoryUrls"] = {"api": out["repositoryUrls"]["api"]}
            return out

    cloud = NoWebRepository(stacks_copy, state_dir, health.url, registry=registries[1].host)
    _runs_from(cloud, registries[0])
    health.deployer = cloud
    release = _release(state_dir, pushed)
    outcome = _orchestrator(cloud, stacks_copy, state_dir, []).promote(Request(release, "dev"))
    assert outcome.code == 1
    assert "no repository for web in the stage's repositoryUrls output" in outcome.message
    assert "dev:preview" not in cloud.read()["calls"]


def test_the_cli_copies_with_registry_settings_from_the_environment(
    registries, pushed, deployer, stacks_copy, state_dir, health, tmp_path, monkeypatch, capsys
):
    """``promote`` (the command) copies with skopeo, which reads registry settings from the
    environment: here containers-registries.conf(5) marks the plain-http loopback registries
    ``insecure``, as an operator would for a registry without TLS."""
    source, stages = registries
    conf = tmp_path / "registries.conf"
    conf.write_text(
        "".join(
            f'[[registry]]\nlocation = "{r.host}"\ninsecure = true\n' for r in (source, stages)
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("CONTAINERS_REGISTRIES_CONF", str(conf))
    monkeypatch.setenv(STAGE_REGISTRY, stages.host)
    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)
    release = _release(state_dir, pushed)
    code = main(
        [
            "promote",
            release,
            "--to",
            "dev",
            "--deployer",
            "tests.promote.test_image_promotion:registry_deployer",
            "--health-timeout",
            "1",
            "--json",
            "--stacks-dir",
            str(stacks_copy),
            "--state-dir",
            str(state_dir),
        ]
    )
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0, out[-1]
    copy = [e for e in out if e["event"] == "step" and e["step"] == "copy-images"]
    assert [e["status"] for e in copy] == ["started", "completed"], copy
    for service, image in pushed.items():
        assert serves(stages.host, f"dev/registry-{service}", image.rsplit("@", 1)[1])


# A stand-in for the Azure CLI, with the behaviour of the real operations on a real registry (the
# loopback stages' registry stands for the ACR):
# - `az acr import` (ACR REST API "Registries - Import Image"): the registry fetches the source,
#   named by digest, and stores it under the target tag; a source that does not exist fails.
# - `az acr repository show --image repo:tag --query digest -o tsv`: a data-plane read, so a
#   registry whose firewall does not admit the runner refuses it ("denied: client with IP ... is
#   not allowed access", https://aka.ms/acr/firewall): FAKE_ACR_FIREWALL=closed. FAKE_ACR_TAMPER
#   makes it report other bytes, which a real registry serves only if someone overwrote the tag.
# Each call is logged so the test sees the command line.
FAKE_AZ = """#!{python}
import hashlib, json, os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_AZ_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
host = os.environ["FAKE_ACR_HOST"]
if args[:2] == ["acr", "import"]:
    opts = dict(zip(args[2::2], args[3::2]))
    done = subprocess.run(
        ["skopeo", "copy", "--all", "--preserve-digests", "--src-tls-verify=false",
         "--dest-tls-verify=false", "docker://" + opts["--source"],
         "docker://" + host + "/" + opts["--image"]],
        capture_output=True, text=True)
    if done.returncode:
        sys.exit("ERROR: (InvalidParameters) Operation registries-import failed: "
                 + done.stderr.strip().splitlines()[-1])
elif args[:3] == ["acr", "repository", "show"]:
    opts = dict(zip(args[3::2], args[4::2]))
    if os.environ.get("FAKE_ACR_FIREWALL") == "closed":
        sys.exit("ERROR: denied: client with IP '203.0.113.7' is not allowed access."
                 " Refer https://aka.ms/acr/firewall to grant access.")
    done = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false",
         "docker://" + host + "/" + opts["--image"]], capture_output=True)
    if done.returncode:
        sys.exit("ERROR: manifest unknown")
    digest = "sha256:" + hashlib.sha256(done.stdout).hexdigest()
    if os.environ.get("FAKE_ACR_TAMPER"):
        digest = "sha256:" + "1" * 64
    print(digest)
else:
    sys.exit("az: only 'acr import' and 'acr repository show' are stood in for")
"""


class AcrDeployer(FileDeployer):
    """The fake cloud as an Azure stage: one repository per service in the stage's ACR."""

    def outputs(self, stack: str) -> Mapping[str, Any]:
        urls = {s: f"{stack.replace('-', '')}cr.azurecr.io/{s}" for s in SERVICES}
        return {**super().outputs(stack), "repositoryUrls": urls}


@pytest.fixture
def fake_az(registries, tmp_path, monkeypatch) -> Path:
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ.replace("{python}", sys.executable), encoding="utf-8")
    az.chmod(0o755)
    log = tmp_path / "az.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_AZ_LOG", str(log))
    monkeypatch.setenv("FAKE_ACR_HOST", registries[1].host)
    return log


def test_azure_stages_import_the_images_with_az_acr_import(
    registries, pushed, stacks_copy, state_dir, health, fake_az
):
    """An Azure registry has public network access off: the copy is the registry's own import
    (an ARM operation), by digest, under the content-addressed tag, then the digest is read back
    where the registry lets the runner read."""
    _, stages = registries
    events: list[dict[str, Any]] = []
    _, orchestrator = _acr_orchestrator(registries, pushed, stacks_copy, state_dir, health, events)
    outcome = orchestrator.promote(Request(_release(state_dir, pushed), "dev"))
    assert outcome.code == 0, outcome.message
    calls = [json.loads(line) for line in fake_az.read_text().splitlines()]
    digest = pushed["api"].rsplit("@", 1)[1]
    tag = f"api:{digest.replace(':', '-')}"
    assert calls[:2] == [
        [
            "acr", "import", "--name", "devcr", "--source", pushed["api"],
            "--image", tag, "--force", "--only-show-errors",
        ],
        [
            "acr", "repository", "show", "--name", "devcr", "--image", tag,
            "--query", "digest", "--output", "tsv", "--only-show-errors",
        ],
    ]  # fmt: skip
    for service, image in pushed.items():
        assert serves(stages.host, service, image.rsplit("@", 1)[1]), service
    # Read back and equal: the line says what arrived, as for skopeo.
    assert f"api: copied, arrived as {digest}" in _notes(events)


def _notes(events: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in events if e["event"] == "note"]


def _acr_orchestrator(registries, pushed, stacks_copy, state_dir, health, events):
    from pipeline.promote.images import StageRegistries

    cloud = AcrDeployer(stacks_copy, state_dir, health.url)
    _runs_from(cloud, registries[0])
    health.deployer = cloud
    orchestrator = Orchestrator(
        cloud,
        load_pipeline(stacks_copy),
        record(state_dir),
        verify=HealthCheck(timeout=0.6, interval=0.05),
        services=frozenset(SERVICES),
        images=StageRegistries(skopeo=LOCAL),
        events=lambda event, **fields: events.append({"event": event, **fields}),
    )
    return cloud, orchestrator


def test_an_acr_closed_to_the_runner_says_the_digest_was_not_read_back(
    registries, pushed, stacks_copy, state_dir, health, fake_az, monkeypatch
):
    """Public network access off (the blueprint's default): the import still works (an ARM
    operation), the read-back is refused, and the line says so instead of claiming arrival."""
    monkeypatch.setenv("FAKE_ACR_FIREWALL", "closed")
    events: list[dict[str, Any]] = []
    _, orchestrator = _acr_orchestrator(registries, pushed, stacks_copy, state_dir, health, events)
    outcome = orchestrator.promote(Request(_release(state_dir, pushed), "dev"))
    assert outcome.code == 0, outcome.message
    digest = pushed["api"].rsplit("@", 1)[1]
    line = next(n for n in _notes(events) if n.startswith("api: copied"))
    assert line.startswith(f"api: copied, arrived as {digest} (imported; not read back"), line
    assert "not allowed access" in line and "the apps pull it by digest" in line


def test_an_acr_serving_other_bytes_after_the_import_is_refused(
    registries, pushed, stacks_copy, state_dir, health, fake_az, monkeypatch
):
    monkeypatch.setenv("FAKE_ACR_TAMPER", "1")
    cloud, orchestrator = _acr_orchestrator(registries, pushed, stacks_copy, state_dir, health, [])
    outcome = orchestrator.promote(Request(_release(state_dir, pushed), "dev"))
    assert (outcome.code, outcome.outcome) == (1, "stopped"), outcome.message
    assert "arrived as sha256:1111" in outcome.message and "refusing it" in outcome.message
    assert "dev:preview" not in cloud.read()["calls"]


def test_a_failed_acr_import_stops_before_the_preview(
    registries, pushed, stacks_copy, state_dir, health, fake_az
):
    from pipeline.promote.images import StageRegistries

    cloud = AcrDeployer(stacks_copy, state_dir, health.url)
    _runs_from(cloud, registries[0])
    health.deployer = cloud
    missing = pushed["api"].rsplit("@", 1)[0] + "@sha256:" + "0" * 64
    release = _release(state_dir, pushed | {"api": missing})
    outcome = Orchestrator(
        cloud,
        load_pipeline(stacks_copy),
        record(state_dir),
        services=frozenset(SERVICES),
        images=StageRegistries(skopeo=LOCAL),
    ).promote(Request(release, "dev"))
    assert (outcome.code, outcome.outcome) == (1, "stopped"), outcome.message
    assert outcome.message.startswith("dev: image copy failed: az acr import api: ")
    assert "registries-import failed" in outcome.message and "\n" not in outcome.message
    assert "dev:preview" not in cloud.read()["calls"]


def test_a_private_source_registry_s_credentials_go_with_the_import(
    registries, pushed, stacks_copy, state_dir, health, fake_az, monkeypatch
):
    """The registry fetches the source itself, so the source's login rides on the import (and is
    never echoed back in the stop line)."""
    monkeypatch.setenv("STAGELINE_SOURCE_USERNAME", "ci-bot")
    monkeypatch.setenv("STAGELINE_SOURCE_PASSWORD", "s3cret-token")
    missing = pushed["api"].rsplit("@", 1)[0] + "@sha256:" + "0" * 64
    _, orchestrator = _acr_orchestrator(registries, pushed, stacks_copy, state_dir, health, [])
    outcome = orchestrator.promote(Request(_release(state_dir, pushed | {"api": missing}), "dev"))
    assert (outcome.code, outcome.outcome) == (1, "stopped"), outcome.message
    assert "s3cret-token" not in outcome.message
    first = json.loads(fake_az.read_text().splitlines()[0])
    assert first[:2] == ["acr", "import"]
    assert first[-4:] == ["--username", "ci-bot", "--password", "s3cret-token"]
