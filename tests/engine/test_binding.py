"""The program holds a stack to its pipeline entry under the real engine, not only `plan`: a
stack file that relabels itself (live claiming to be dev, to get dev's policy config and rules)
stops `pulumi preview` before any resource is declared, naming the file and the key."""

from __future__ import annotations

import pytest

from components import project
from tests.engine.conftest import Sandbox

pytestmark = pytest.mark.engine


def test_a_relabelled_stack_fails_the_real_preview(fresh: Sandbox) -> None:
    live = fresh.project / "stacks" / "Pulumi.live.yaml"
    key = project.key("stage")
    text = live.read_text()
    assert f"  {key}: live\n" in text
    live.write_text(text.replace(f"  {key}: live\n", f"  {key}: dev\n"))
    fresh.init("live")
    result = fresh.pulumi("preview", stack="live", check=False)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert f"stacks/Pulumi.live.yaml: {key}: expected 'live'" in out, out[-3000:]
    # The preview lists each declared resource by type: only the root stack is there.
    assert "aws:" not in result.stdout, "no resource was declared"
