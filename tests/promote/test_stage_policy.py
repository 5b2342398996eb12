"""The policy config a promotion previews with is chosen by the stack's stage, not its name."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.promote.orchestrator import stage_policy
from tests.conftest import PROJECT_DIR


@pytest.mark.parametrize(
    ("stack", "config"),
    [
        ("dev", "dev.json"),
        ("live", "live.json"),
        ("azure-dev", "dev.json"),
        ("azure-live", "live.json"),
        ("local", "local.json"),
    ],
)
def test_config_follows_the_stage(stack: str, config: str) -> None:
    options = stage_policy(PROJECT_DIR, None, None)(stack)
    assert options.describe()["config"] == str(PROJECT_DIR / "policies" / "config" / config)
    assert options.describe()["pack"] == str(PROJECT_DIR / "policies")


def test_explicit_config_wins(tmp_path: Path) -> None:
    chosen = tmp_path / "strict.json"
    chosen.write_text("{}")
    options = stage_policy(PROJECT_DIR, None, chosen)("azure-dev")
    assert options.describe()["config"] == str(chosen)
