"""The renderer-backed deployer and the rehearsal: previews are real desired-state diffs of the
blueprint rendered under Pulumi's mock runtime."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.definition import load_pipeline
from pipeline.promote.deployer import DeployError, PolicyOptions
from pipeline.promote.offline import OfflineDeployer, write_release_config
from pipeline.promote.orchestrator import (
    EXIT_OK,
    EXIT_STOPPED,
    Orchestrator,
    Request,
    stage_policy,
)
from pipeline.promote.rehearsal import rehearse
from pipeline.promote.verification import VerifyResult
from tests.conftest import PROJECT_DIR, edit_stack
from tests.promote.record_reader import ledger_entries
from tests.promote.typed_entries import stored

TASK = "aws:ecs/taskDefinition:TaskDefinition"


class FaultyOffline(OfflineDeployer):
    """The offline deployer with one injected fault: ``{step: "error"}``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.faults: dict[str, str] = {}

    def up(self, stack, preview):
        if self.faults.pop("up", None):
            raise DeployError(f"{stack}: injected up error")
        super().up(stack, preview)


def by_outputs(stage, outputs, release):
    return VerifyResult(outputs.get("release") == release, f"outputs say {outputs.get('release')}")


def test_promotion_over_real_renders(stacks_copy, state, make_release_in, tmp_path):
    release = make_release_in("a")
    deployer = FaultyOffline(PROJECT_DIR, stacks_copy, tmp_path / "offline")
    deployer.prime(["dev", "test"])  # what the stacks run now, rendered in one batch
    steps: list[dict] = []
    orch = Orchestrator(
        deployer,
        load_pipeline(stacks_copy),
        state,
        policy=stage_policy(PROJECT_DIR, None, None, stacks_copy),  # a stage is held without it
        verify=by_outputs,
        events=lambda e, **f: steps.append(f),
    )
    assert orch.promote(Request(release.id, "dev")).code == EXIT_OK
    preview = next(
        e
        for e in stored(orch.ledger.entries())
        if e.get("step") == "preview" and e["status"] == "completed"
    )
    changed = preview["preview"]["changed"]
    assert {c["type"] for c in changed} == {TASK}, changed
    # A new digest changes containerDefinitions, which the provider replaces on (pulumi-aws).
    assert all(c["op"] == "replace" for c in changed), changed
    assert any(
        "STAGELINE_RELEASE" in json.dumps(c) or "environment" in p
        for c in changed
        for p in c["paths"]
    ), changed
    assert deployer.outputs("dev")["release"] == release.id

    # A change beyond the release (the stack file now also resizes the database) is stopped.
    edit_stack(
        deployer.stacks_dir,
        "test",
        lambda c: (
            c["stageline:scale"]
            .setdefault("database", {})
            .update({"instanceClass": "db.t4g.small"})
        ),
    )
    result = orch.promote(Request(release.id, "test"))
    assert result.code == EXIT_STOPPED, result.message
    assert (
        "urn:pulumi:test::stageline::stageline:aws:Environment$stageline:aws:Database$aws:rds/instance:Instance"
        in (result.message)
    ), result.message
    gate = next(s for s in steps if s.get("step") == "gate" and s.get("stage") == "test")
    assert any("instanceClass" in line for line in gate["diff"]), gate["diff"]
    assert deployer.outputs("test")["release"] == "bootstrap"

    # An up that fails rolls the stage back, by the same path, to its last verified release.
    newer = make_release_in("c")
    deployer.faults["up"] = "error"
    result = orch.promote(Request(newer.id, "dev"))
    assert result.outcome == "rolled back", result.message
    assert deployer.outputs("dev")["release"] == release.id


def test_rehearsal_shows_diff_policy_and_gates(stacks_copy, state, state_dir, make_release_in):
    release = make_release_in("b")
    report = rehearse(
        PROJECT_DIR,
        stacks_copy,
        state,
        load_pipeline(stacks_copy),
        Request(release.id, "test"),
        policy=lambda stage: PolicyOptions(None, None),
    )
    assert [s.stack for s in report.stages] == ["dev", "test"]
    for stage in report.stages:
        # Each service's TaskDefinition is replaced (a new digest), and the gate lets it pass.
        assert stage.counts == {"replace": 2, "same": stage.counts["same"]}, stage.counts
        replaced = [line for line in stage.diff if line.startswith("+- replace")]
        assert len(replaced) == 2 and all(TASK in line for line in replaced), stage.diff
        # No pack: the policy did not run, so nothing was checked and the stage is held, by
        # the same rule (pipeline.promote.policy.policy_findings) as a promotion's gate.
        assert stage.blocked, stage.gates
        # Each image is copied into the stage's own ECR repository, by digest, first.
        assert [c.split(":")[0] for c in stage.copies] == ["api", "web"], stage.copies
        assert all(".dkr.ecr." in c and ":sha256-" in c for c in stage.copies), stage.copies
        preview = next(g for g in stage.gates if g["gate"] == "preview")
        assert preview["verdict"] == "stop", preview
        assert preview["reason"].startswith("policy did not run: no policy pack"), preview
        assert stage.policy["status"] == "not run"
    assert report.exit_code() == 1
    markdown = report.markdown()
    assert "### dev" in markdown and release.id in markdown
    assert "Images copied by digest before the preview" in markdown
    # Nothing was written: the real stack files still run bootstrap, the ledger is untouched.
    assert "stageline:release: bootstrap" in (stacks_copy / "Pulumi.dev.yaml").read_text()
    assert ledger_entries(state_dir) == []


def test_write_release_config_returns_what_it_replaced(stacks_copy):
    from pipeline.promote.deployer import ReleaseConfig

    images = {"api": "a@sha256:" + "1" * 64, "web": "w@sha256:" + "2" * 64}
    before = write_release_config(stacks_copy, "dev", ReleaseConfig("r-x", images))
    assert before.release == "bootstrap" and set(before.images) == {"api", "web"}
    again = write_release_config(stacks_copy, "dev", before)
    assert again == ReleaseConfig("r-x", images)
    assert isinstance(Path(stacks_copy), Path)
