"""Conformance of every registered substrate, the tests' ``plain`` one included: each registers
what shared code needs, builds the seven roles with their attributes, exports the same stack
outputs, and emits resources only of the providers it registers. ``plain`` plugs in as one folder
(tests/substrates/plain) and one registration, with no shared code edited."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components import substrates
from components.bindings import Binding, glob_match
from components.roles import ROLE_NAMES
from tests.conftest import PROJECT_DIR, STACKS_DIR

PLAIN = PROJECT_DIR / "tests" / "substrates" / "plain" / "substrate.py"
# One shipped stack per shipped substrate, and a stack on the tests' plain substrate.
STACKS = {"aws": "dev", "azure": "azure-dev", "docker": "local", "plain": "plain"}
OUTPUTS = {
    "stage", "cloud", "release", "digests", "serviceUrl", "serviceUrls", "healthPaths",
    "registryUrl", "repositoryUrls", "dnsRecords", "databaseEndpoint", "bucketName",
    "caCertificate",
}  # fmt: skip


@pytest.fixture(scope="module")
def registered(request: pytest.FixtureRequest) -> dict[str, substrates.SubstrateInfo]:
    old = os.environ.get(substrates.EXTRA)
    os.environ[substrates.EXTRA] = str(PLAIN)
    request.addfinalizer(
        lambda: (
            os.environ.pop(substrates.EXTRA)
            if old is None
            else os.environ.__setitem__(substrates.EXTRA, old)
        )
    )
    return substrates.registry()


def test_the_registry_finds_every_folder_and_the_extra_one(registered) -> None:
    assert set(registered) == set(STACKS)
    assert set(substrates.registry()) - {"plain"} == {"aws", "azure", "docker"}


@pytest.mark.parametrize("name", sorted(STACKS))
def test_a_registration_is_complete(registered, name: str) -> None:
    info = registered[name]
    assert callable(info.builder())
    assert all(isinstance(b, Binding) for b in info.binding_table())
    resources, calls = info.mock_tables()
    assert isinstance(resources, dict) and isinstance(calls, dict)
    if info.region_key is not None:
        assert info.region_key.split(":")[0] in info.namespaces
    for path, reason in info.refuses.items():
        assert path.split(".")[0] in {
            "encryption", "logging", "network", "tls", "database", "services"
        }  # fmt: skip
        assert reason


@pytest.fixture(scope="module")
def conformance_stacks(registered, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped stacks plus one on the plain substrate, bound to the local stage."""
    stacks = tmp_path_factory.mktemp("conformance") / "stacks"
    shutil.copytree(STACKS_DIR, stacks)
    local = yaml.safe_load((stacks / "Pulumi.local.yaml").read_text())
    config = local["config"]
    config["stageline:cloud"] = "plain"
    config["stageline:stage"] = "local"  # held to the local stage's policy config
    config["stageline:cidr"] = "10.95.0.0/16"
    (stacks / "Pulumi.plain.yaml").write_text(yaml.safe_dump(local))
    definition = yaml.safe_load((stacks / "pipeline.yaml").read_text())
    definition["local"].append(
        {
            "stack": "plain",
            "stage": "local",
            "comparesWith": "aws",
            "substrateDifferences": ["encryption.atRest", "logging.flowLogs"],
        }
    )
    (stacks / "pipeline.yaml").write_text(yaml.safe_dump(definition))
    return stacks


@pytest.fixture(scope="module")
def plan(conformance_stacks: Path) -> dict:
    stacks = conformance_stacks
    args = ["--stacks-dir", str(stacks), "--format", "json"]
    for stack in STACKS.values():
        args += ["--stack", stack]
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "plan", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, substrates.EXTRA: str(PLAIN)},
    )
    rendered: dict = json.loads(result.stdout)
    # The policy pack knows no "plain" rules: it fails closed on that stage with its one
    # finding (pulumi-stack-config-substrate-known, policies/analyzer.py) and nothing else.
    findings = {
        (name, v["policy"])
        for name, stage in rendered["stacks"].items()
        for v in stage.get("violations", [])
    }
    assert findings == {("plain", "pulumi-stack-config-substrate-known")}, result.stderr
    assert result.returncode == 1, result.stderr
    return rendered


@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_substrate_builds_the_roles_and_exports_the_outputs(plan, name: str) -> None:
    render = plan["stacks"][STACKS[name]]
    assert render["error"] is None
    types = [r["type"] for r in render["resources"]]
    for role in ("Environment", *ROLE_NAMES):
        assert types.count(f"stageline:{name}:{role}") == 1, role
    assert set(render["outputs"]) == OUTPUTS
    assert render["outputs"]["cloud"] == name


@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_emitted_type_comes_from_a_registered_provider(registered, plan, name: str) -> None:
    """Custom resources come from the providers whose namespaces the substrate registers (so
    their config is never taken for the project's), components from the project's package."""
    info = registered[name]
    for resource in plan["stacks"][STACKS[name]]["resources"]:
        package = resource["type"].split(":")[0]
        if resource["custom"]:
            assert package in info.namespaces, resource["type"]
        else:
            assert package in {"stageline", "pulumi"}, resource["type"]


@pytest.fixture(scope="module")
def flipped(conformance_stacks: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every substrate's stage rendered as shipped and once per flipped shape field
    (tests/substrates/flips.py, in a fresh process so its renderers see the plain substrate)."""
    out = tmp_path_factory.mktemp("flips") / "flips.json"
    files = {name: str(conformance_stacks / f"Pulumi.{s}.yaml") for name, s in STACKS.items()}
    stacks = json.dumps(files)
    result = subprocess.run(
        [sys.executable, "-m", "tests.substrates.flips", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, substrates.EXTRA: str(PLAIN), "FLIP_STACKS": stacks},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    flips: dict = json.loads(out.read_text())
    return flips


@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_shape_field_is_honoured_or_refused_with_a_reason(
    registered, flipped, name: str
) -> None:
    """Flip a shape field: the stage's resources or outputs change, or the substrate declares
    it cannot honour the field (``refuses``, with the reason). Nothing is silently ignored, and
    a declared refusal is not stale (the field really changes nothing)."""
    from tests.substrates.flips import FLIPS

    renders = flipped[name]
    baseline = renders["baseline"]
    assert baseline, f"{name} did not render as shipped"
    declared = registered[name].refuses
    refuses = [p for p in FLIPS if any(glob_match(p, pattern) for pattern in declared)]
    changed = {path: renders[path] != baseline for path in FLIPS}
    stale = [p for p in FLIPS if p in refuses and renders[p] is not None and changed[p]]
    refused = [p for p in FLIPS if p not in refuses and renders[p] is None]
    ignored = [p for p in FLIPS if p not in refuses and renders[p] is not None and not changed[p]]
    assert not stale, f"{name} declares it refuses {stale}, yet honours them"
    assert not refused, f"{name} refuses {refused} at load without declaring it"
    assert not ignored, f"{name} ignores {ignored} without declaring it in refuses"


@pytest.mark.parametrize("name", sorted(STACKS))
def test_every_emitted_type_has_a_mock_in_the_substrate_folder(registered, plan, name: str) -> None:
    """The offline renderer answers every custom type the stage declares from the substrate's
    own mock table (its folder's mocks module), not from a generic fallback."""
    resources, _ = registered[name].mock_tables()
    assert registered[name].mocks.startswith(("components.", "tests.substrates.")), name
    used = {r["type"] for r in plan["stacks"][STACKS[name]]["resources"] if r["custom"]}
    assert used <= set(resources), sorted(used - set(resources))
