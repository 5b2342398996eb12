"""What plan starts before it validates: the fork server, warmed for the clouds the stack files
name (a line scan, never a YAML parse of unchecked input); a wrong hint only costs time."""

from __future__ import annotations

from components.spec.loader import PROJECT
from pipeline.plan import clouds_hint
from tests.conftest import PROJECT_DIR, STACKS_DIR


def test_the_hint_names_each_selected_stage_cloud():
    assert clouds_hint(PROJECT_DIR, STACKS_DIR, ["dev", "live"]) == {"aws"}
    assert clouds_hint(PROJECT_DIR, STACKS_DIR, ["azure-dev", "local"]) == {"azure", "docker"}
    assert clouds_hint(PROJECT_DIR, STACKS_DIR, None) == {"aws", "azure", "docker"}


def test_the_hint_reads_no_yaml(tmp_path):
    # An alias bomb is a few lines; the loader refuses it later, the hint only scans lines.
    (tmp_path / "Pulumi.x.yaml").write_text(
        'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        f"config:\n  {PROJECT}:cloud: azure\n"
    )
    (tmp_path / "Pulumi.y.yaml").write_bytes(b"\xff\xfe not text")
    assert clouds_hint(PROJECT_DIR, tmp_path, None) == {"azure", "aws"}
    assert clouds_hint(PROJECT_DIR, tmp_path, ["missing"]) == {"aws"}
