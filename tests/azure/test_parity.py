"""Parity within the Azure pipeline: clean as shipped; a shape difference is caught."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from components.spec import read_stack
from pipeline.parity import normalize, substitutions
from pipeline.plan import EXIT_VIOLATIONS, make_plan
from pipeline.render import StageRender
from pipeline.stages import load_stages
from tests.conftest import PROJECT_DIR, STACKS_DIR, edit_stack


def test_shipped_azure_pipeline_is_clean(stages: dict[str, StageRender]) -> None:
    from pipeline.parity import parity

    loaded = load_stages(STACKS_DIR, list(stages))
    report = parity(stages, loaded.specs, loaded.definition)
    assert report.violations == [], [f"{v.urn}: {v.message}" for v in report.violations]
    allowed = {(r.type, r.property, r.reason) for r in report.rows if r.verdict == "allowed"}
    expected = {
        ("azure-native:dbforpostgresql:Server", "highAvailability.mode"),
        ("azure-native:dbforpostgresql:Server", "backup.geoRedundantBackup"),
        ("azure-native:keyvault:Vault", "properties.enablePurgeProtection"),
        ("azure-native:operationalinsights:Workspace", "retentionInDays"),
        ("azure-native:app:ContainerApp", "template.scale.minReplicas"),
    }
    assert expected <= {(t, p) for t, p, _ in allowed}
    assert {r.pipeline for r in report.rows} == {"azure"}


def test_global_names_normalize_to_the_stack_placeholder() -> None:
    subs = substitutions(read_stack(STACKS_DIR, "azure-staging").spec())
    assert normalize("azurestagingcr1a2b3c4d.azurecr.io/api", subs) == (
        "{stack}cr1a2b3c4d.azurecr.io/api"
    )
    assert normalize("https://azurestagingst1a2b3c4d.blob.core.windows.net/data", subs) == (
        "https://{stack}st1a2b3c4d.blob.core.windows.net/data"
    )
    # Only at the start of a name: a longer word that merely contains it is left alone.
    assert normalize("xazurestagingcr", subs) == "xazurestagingcr"
    # AWS stacks have no punctuation, so nothing new applies to them.
    aws = substitutions(read_stack(STACKS_DIR, "dev").spec())
    assert normalize("devices", aws) == "devices"


def test_a_shape_change_in_one_azure_stage_is_a_violation(stacks_copy: Path) -> None:
    def tls13(config: dict[str, Any]) -> None:
        config.setdefault("stageline:shape", {})["tls"] = {"minVersion": "1.3"}

    edit_stack(stacks_copy, "azure-test", tls13)
    plan = make_plan(PROJECT_DIR, stacks_copy, ["azure-dev", "azure-test"])
    assert plan.render_errors == {}
    assert plan.exit_code() == EXIT_VIOLATIONS
    # With two stages either may be the odd one; both properties are reported.
    found = {v.property for v in plan.parity.violations}
    assert {"shape.tls.minVersion", "value"} <= found, found
    config = next(v for v in plan.parity.violations if v.property == "value")
    assert "ssl-min-protocol-version" in config.urn, config.urn
