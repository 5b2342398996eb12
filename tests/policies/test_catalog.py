"""The catalog is current, and the stage config files say what the issue asks of each stage."""

from __future__ import annotations

import importlib
import inspect
import json

import pytest

from pipeline.policy import PolicyHarness
from pipeline.policy.catalog import catalog_path, render_catalog, stage_configs
from tests.conftest import PROJECT_DIR

STAGE_ADVISORY = "stage-advisory"
LIVE_ONLY = {
    "aws-lb-loadbalancer-deletion-protection",
    "aws-rds-instance-multi-az",
    "aws-rds-instance-deletion-protection",
    "azure-dbforpostgresql-server-zone-redundant-ha",
    "azure-dbforpostgresql-server-geo-redundant-backup",
    "azure-keyvault-vault-purge-protection",
    "azure-dbforpostgresql-server-deletion-protection",
}


def test_catalog_is_current(pack: PolicyHarness) -> None:
    target = catalog_path(PROJECT_DIR / "policies")
    assert target.read_text() == render_catalog(pack), (
        f"{target} is stale: run python -m pipeline policies catalog"
    )


def test_enforcement_per_stage(pack: PolicyHarness) -> None:
    configs = {c.stage: c for c in stage_configs(pack)}
    assert {"dev", "test", "staging", "live", "local"} <= set(configs)
    for policy in pack.policies():
        levels = {s: c.policies[policy.name].enforcement for s, c in configs.items()}
        early = "advisory" if STAGE_ADVISORY in policy.tags else "mandatory"
        expected = {"dev": early, "test": early, "local": early}
        expected |= {"staging": "mandatory", "live": "mandatory"}
        if policy.name in LIVE_ONLY:
            expected = {s: "disabled" for s in expected} | {"live": "mandatory"}
        assert levels == expected, f"{policy.name}: {levels}"


def test_thresholds_come_from_config_and_pins_agree(pack: PolicyHarness) -> None:
    configs = {c.stage: c for c in stage_configs(pack)}

    def prop(stage: str, policy: str, key: str) -> object:
        return configs[stage].policies[policy].properties[key]

    assert prop("live", "aws-cloudwatch-loggroup-retention", "minimumDays") >= 365  # type: ignore[operator]
    backups = [prop(s, "aws-rds-instance-backup-retention", "minimumDays") for s in
               ("dev", "test", "staging", "live")]  # fmt: skip
    assert backups == sorted(backups), f"backup minimums must not fall towards live: {backups}"
    for pinned in ("aws-rds-instance-engine-pinned", "aws-blueprint-component-exactly-once"):
        values = {
            json.dumps(c.policies[pinned].properties, sort_keys=True) for c in configs.values()
        }
        assert len(values) == 1, f"{pinned} pins differ between stages: {values}"
    for stage, config in configs.items():
        assert config.policies["aws-all-taggable-required-tags"].properties["stage"] == stage


def test_taggable_list_matches_the_sdk() -> None:
    """TAGGABLE names exactly the types whose pulumi-aws class takes ``tags``."""
    from policies.rules.tags.aws import TAGGABLE

    for token in sorted(TAGGABLE):
        _, module, name = token.split(":")
        cls = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)
        assert "tags" in inspect.signature(cls._internal_init).parameters, token


@pytest.mark.parametrize(
    "token",
    [
        "aws:ec2/route:Route",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:kms/alias:Alias",
    ],
)
def test_untaggable_types_are_not_listed(token: str) -> None:
    from policies.rules.tags.aws import TAGGABLE

    _, module, name = token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_aws.{module.split('/')[0]}"), name)
    assert "tags" not in inspect.signature(cls._internal_init).parameters, token
    assert token not in TAGGABLE
