"""The Azure blueprint against what Container Apps and azure-native do on a release.

A release changes only a container app's ``template`` (its image digest), which makes a new
revision (Microsoft Learn, "Revisions in Azure Container Apps"; the REST model
ContainerAppTemplate). In single revision mode with no fixed ``revisionSuffix`` that revision
takes the traffic; a fixed suffix would collide with the previous revision's name.
"""

from __future__ import annotations

from pipeline.promote.deployer import ReleaseConfig
from pipeline.promote.diff import desired_state_diff, gate_findings
from pipeline.render import StageRender
from tests.conftest import by_type

APP = "azure-native:app:ContainerApp"


def test_each_release_is_one_new_revision_taking_all_traffic(
    stages: dict[str, StageRender],
) -> None:
    for stack, render in stages.items():
        for app in by_type(render, APP):
            inputs = app["inputs"]
            assert inputs["configuration"]["activeRevisionsMode"] == "Single", app["urn"]
            assert "revisionSuffix" not in inputs["template"], app["urn"]
            traffic = inputs["configuration"]["ingress"]["traffic"]
            assert traffic == [{"latestRevision": True, "weight": 100}], (stack, app["urn"])


def test_a_new_digest_updates_the_app_in_place(stages: dict[str, StageRender]) -> None:
    """A new image is an update of the ContainerApp (a new revision), never its replacement."""
    render = stages["azure-dev"]
    before = render.resources
    old_digest = render.outputs["digests"]["api"]
    new_digest = "sha256:" + "e" * 64
    after = [
        {**r, "inputs": _swap(r["inputs"], old_digest, new_digest)} if r["type"] == APP else r
        for r in before
    ]
    changes = [c for c in desired_state_diff(before, after) if c.op != "same"]
    assert [(c.type, c.op) for c in changes] == [(APP, "update")], changes
    assert changes[0].paths == ("inputs.template.containers[0].image",)
    old = ReleaseConfig("r-1", {"api": f"x@{old_digest}"})
    new = ReleaseConfig("r-1", {"api": f"x@{new_digest}"})
    assert gate_findings(changes, old, new) == []


def _swap(value, old: str, new: str):
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _swap(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, old, new) for v in value]
    return value
