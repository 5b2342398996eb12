"""A change the provider sends as an update that the cloud refuses is a finding of ``diff``.

azure-native replaces a PostgreSQL flexible server only on create-only fields of the server
itself; ``backup.geoRedundantBackup`` is create-only in FlexibleServers.json but nested, so the
engine's preview says *update* and Azure refuses it at ``up`` (components/azure/replacement.yaml,
``refusedOnUpdate``). The blueprint drives it from ``scale.database.deletionProtection``, so
turning that on for an existing Azure stage is such a change: ``diff`` must say so and exit 1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.diff.conftest import _copy_project, _scale, commit, edit_config, init_repo

STACK = "azure-staging"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = init_repo(tmp_path_factory.mktemp("refused-repo"))
    _copy_project(path)
    commit(path, "base")

    def protect(config: dict[str, object]) -> None:
        database = _scale(config).setdefault("database", {})
        assert isinstance(database, dict)
        database["deletionProtection"] = True

    edit_config(path, STACK, protect)
    commit(path, f"{STACK}: deletion protection on")
    return path


def _diff(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "diff", "--base", "HEAD~1", "--head", "HEAD",
         "--stack", STACK, "--no-cache", *args],
        cwd=repo, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_toggling_geo_backup_on_an_existing_azure_server_is_refused(repo: Path) -> None:
    done = _diff(repo, "--format", "json")
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr
    result = json.loads(done.stdout)
    findings = [f for f in result["findings"] if f["kind"] == "provider"]
    assert len(findings) == 1, result["findings"]
    assert findings[0]["stack"] == STACK and findings[0]["new"] is True
    assert "backup.geoRedundantBackup" in findings[0]["message"], findings[0]
    servers = [
        r for r in result["stages"][STACK]["changed"]
        if r["type"] == "azure-native:dbforpostgresql:Server"
    ]  # fmt: skip
    assert len(servers) == 1 and servers[0]["replacedBy"] == [], servers
    assert servers[0]["refusedBy"] == ["backup.geoRedundantBackup"], servers


def test_the_table_names_the_refused_field(repo: Path) -> None:
    done = _diff(repo, "--width", "100")
    assert done.returncode == 1, done.stderr
    assert "UPDATE REFUSED by the cloud (create-only: backup.geoRedundantBackup)" in " ".join(
        done.stdout.split()
    ), done.stdout
    assert "change(s) the cloud refuses at head (exit 1)" in " ".join(done.stdout.split())
