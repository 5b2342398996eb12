"""Our providers under the real engine: `pulumi up`, then a refresh that finds no drift.

A tiny program (program/) makes a password, a CA and a server certificate with pulumi-random and
pulumi-tls; the sandbox (tools/standin/sandbox.py) first installs stand-ins for every provider
SDK, then `install_into` replaces random's and tls's with ours, as the docker lane would.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification

from tools.providers.install import install_into
from tools.standin.sandbox import EngineUnavailableError, Sandbox, engine_bin

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Path(__file__).resolve().with_name("program")

pytestmark = pytest.mark.engine


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    try:
        bin_dir = engine_bin()
    except EngineUnavailableError as exc:
        pytest.skip(f"ENGINE LANE NOT RUN: {exc}")
    source = tmp_path / "source"
    shutil.copytree(PROGRAM, source, ignore=shutil.ignore_patterns("__pycache__"))
    (source / ".venv").symlink_to(ROOT / ".venv")
    sandbox = Sandbox.create(source, tmp_path / "run", bin_dir)
    assert install_into(sandbox) == [("random", "4.21.4"), ("tls", "5.6.2")]
    sandbox.init("dev")
    # One config key at least: tools/engine/languagehost passes an empty config as JSON null,
    # which the SDK's set_all_config cannot read (main.go json.Marshal of a nil map).
    sandbox.pulumi("config", "set", "renewHours", "1", stack="dev")
    return sandbox


def _steps(sandbox: Sandbox) -> dict[str, set[str]]:
    """Resource name -> the operations a preview plans for it (none listed: nothing to do)."""
    preview = json.loads(sandbox.pulumi("preview", "--json", stack="dev").stdout)
    steps: dict[str, set[str]] = {}
    for step in preview["steps"]:
        steps.setdefault(step["urn"].rsplit("::", 1)[-1], set()).add(step["op"])
    return {name: ops - {"same"} for name, ops in steps.items() if ops - {"same"}}


def test_up_makes_real_things_and_refresh_finds_no_drift(sandbox: Sandbox) -> None:
    sandbox.pulumi("up", "--yes", "--skip-preview", stack="dev")
    outputs = json.loads(
        sandbox.pulumi("stack", "output", "--json", "--show-secrets", stack="dev").stdout
    )
    password = outputs["password"]
    assert len(password) == 24 and password.isalnum() and sum(c.isdigit() for c in password) >= 2
    ca = x509.load_pem_x509_certificate(outputs["caCertPem"].encode())
    leaf = x509.load_pem_x509_certificate(outputs["certPem"].encode())
    verifier = (
        verification.PolicyBuilder()
        .store(verification.Store([ca]))
        .time(datetime.now(UTC))
        .build_server_verifier(x509.DNSName("db.internal"))
    )
    assert verifier.verify(leaf, [])[-1] == ca
    server_public = serialization.load_pem_public_key(outputs["serverPublicKeyPem"].encode())
    assert leaf.public_key() == server_public
    # Secrets stay secrets in the stack's outputs.
    hidden = json.loads(sandbox.pulumi("stack", "output", "--json", stack="dev").stdout)
    assert hidden["password"] == "[secret]"

    # Read returns the state unchanged and Diff agrees with it: nothing to do after a refresh.
    sandbox.pulumi("preview", "--refresh", "--expect-no-changes", stack="dev")

    # The in-place field updates in place; a ForceNew input replaces.
    sandbox.pulumi("config", "set", "renewHours", "2", stack="dev")
    assert _steps(sandbox) == {"ca": {"update"}, "server-cert": {"update"}}
    sandbox.pulumi("config", "set", "passwordLength", "30", stack="dev")
    steps = _steps(sandbox)
    assert "replace" in steps.pop("password"), steps
    assert steps == {"ca": {"update"}, "server-cert": {"update"}}
