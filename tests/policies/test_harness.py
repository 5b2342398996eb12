"""The harness itself: the engine's wire format, config errors, and a crashing pack."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from pipeline.policy import PolicyConfigError, PolicyHarness, PolicyPackError, StageGraph
from pipeline.policy.config import resolve
from tests.policies.conftest import Shipped


def _pack(tmp_path: Path, main: str) -> Path:
    (tmp_path / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (tmp_path / "__main__.py").write_text(textwrap.dedent(main))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "dev.json").write_text("{}\n")
    return tmp_path


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); stop() waits for the child, so it must be reaped.
    return False


def test_pack_that_fails_to_start_names_its_error(tmp_path: Path) -> None:
    pack = _pack(tmp_path, "raise RuntimeError('rules module is broken')\n")
    harness = PolicyHarness(pack)
    with pytest.raises(PolicyPackError, match="rules module is broken") as caught, harness:
        harness.info()
    assert "exited before it printed its port" in str(caught.value)


def test_pack_that_crashes_mid_analysis_is_reported_and_stopped(tmp_path: Path) -> None:
    pack = _pack(
        tmp_path,
        """
        import os
        from pulumi_policy import PolicyPack, ResourceValidationPolicy

        def crash(args, report):
            os._exit(3)

        PolicyPack("crashy", [ResourceValidationPolicy("crash", "crashes", validate=crash)])
        """,
    )
    graph = StageGraph("dev", "stageline", [], {"stage": "dev"})
    graph.resources.append(
        {
            "urn": "urn:pulumi:dev::stageline::aws:s3/bucket:Bucket::dev-bucket",
            "type": "aws:s3/bucket:Bucket",
            "name": "dev-bucket",
            "parent": "",
            "custom": True,
            "inputs": {},
            "options": {},
        }
    )
    harness = PolicyHarness(pack)
    with pytest.raises(PolicyPackError, match="crashed during Analyze") as caught, harness:
        pid = harness.process._require().pid
        harness.analyze(graph)
    assert "exit code 3" in str(caught.value)
    assert not harness.process.alive()
    assert _gone(pid), f"pack process {pid} still exists after the harness closed"


def test_config_errors_name_the_file_and_key(pack: PolicyHarness, tmp_path: Path) -> None:
    path = tmp_path / "live.json"
    path.write_text(
        json.dumps(
            {
                "all": "mandatory",
                "aws-no-such-rule": "advisory",
                "aws-rds-instance-backup-retention": {"minimumDays": "two weeks"},
                "aws-cloudwatch-loggroup-retention": "advisory",
            }
        )
    )
    with pytest.raises(PolicyConfigError) as caught:
        resolve(path, "live", pack.policies())
    problems = dict(caught.value.problems)
    assert str(path) in str(caught.value)
    assert problems["aws-no-such-rule"] == "no policy of that name in the pack"
    assert "expected integer" in problems["aws-rds-instance-backup-retention.minimumDays"]
    assert "required" in problems["aws-cloudwatch-loggroup-retention.minimumDays"]


def test_stage_without_a_config_file_is_refused(pack: PolicyHarness) -> None:
    with pytest.raises(PolicyConfigError, match=r"no policy config for stage 'qa'.*qa\.json"):
        pack.stage_config("qa")


def test_config_file_is_chosen_by_stage_not_stack(
    pack: PolicyHarness, shipped: dict[str, Shipped]
) -> None:
    """A stack named anything (azure-live, say) whose stage is live gets live.json."""
    graph = shipped["live"].graph()
    graph.stack = "azure-live"
    result = pack.analyze(graph)
    assert result.stage == "live"
    assert result.config.path.name == "live.json"


def test_unknown_input_is_an_advisory_preview_diagnostic(
    pack: PolicyHarness, shipped: dict[str, Shipped]
) -> None:
    """``[unknown]`` goes on the wire as the engine's unknown sentinel, as in a preview."""

    def unknown_tls(resources: list[dict[str, object]]) -> None:
        rds = next(r for r in resources if r["type"] == "aws:rds/instance:Instance")
        rds["inputs"]["storageEncrypted"] = "[unknown]"  # type: ignore[index]

    result = pack.analyze(shipped["live"].graph(unknown_tls))
    found = [(d.policy, d.enforcement, d.message) for d in result.diagnostics]
    assert [f[:2] for f in found] == [("aws-rds-instance-storage-encrypted", "advisory")], found
    assert "during preview" in found[0][2]
