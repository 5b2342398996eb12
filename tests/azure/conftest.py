"""The four Azure stages, rendered once per test process (each stage in its own process)."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.render import StageRender
from tests.conftest import STACKS_DIR, by_type, render

AZURE_STACKS = ("azure-dev", "azure-test", "azure-staging", "azure-live")
TAGS = {"stage", "project", "owner", "cost-center", "managed-by"}


@pytest.fixture(scope="session")
def stages() -> dict[str, StageRender]:
    rendered = render(STACKS_DIR, *AZURE_STACKS)
    for stack, result in rendered.items():
        assert result.error is None, f"{stack}: {result.error}"
    return rendered


def one(render: StageRender, type_token: str, name_suffix: str = "") -> dict[str, Any]:
    found = [r for r in by_type(render, type_token) if r["name"].endswith(name_suffix)]
    assert len(found) == 1, f"expected one {type_token} *{name_suffix}, got {found}"
    return found[0]
