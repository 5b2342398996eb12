"""The local stage against what terraform-provider-docker and a Docker engine do on a change.

A change of the stage's tags (owner, cost center) or of its CIDR is rendered and diffed as a
promotion's preview is (pipeline.promote.diff over two renders), with the replacement table
(components/docker/replacement.yaml) saying what the provider replaces.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.replacement import is_stateful
from pipeline.promote.deployer import ReleaseConfig
from pipeline.promote.diff import desired_state_diff, gate_findings
from pipeline.render import StageRender
from tests.conftest import PROJECT_DIR, STACKS_DIR, by_type, edit_stack, render

NETWORK = "docker:index/network:Network"
VOLUME = "docker:index/volume:Volume"
CONTAINER = "docker:index/container:Container"


def _render(root: Path, change=None) -> StageRender:
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", root / "Pulumi.yaml")
    shutil.copytree(STACKS_DIR, root / "stacks")
    if change is not None:
        edit_stack(root / "stacks", "local", change)
    stage = render(root / "stacks", "local")["local"]
    assert stage.error is None, stage.error
    return stage


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, StageRender]:
    def make(name: str, change=None) -> StageRender:
        return _render(tmp_path_factory.mktemp(name), change)

    return {
        "base": make("base"),
        "owner": make("owner", lambda c: c.update({"stageline:owner": "another-team"})),
    }


def test_a_new_owner_tag_keeps_every_volume_and_its_data(renders) -> None:
    """Volume labels are ForceNew (resource_docker_volume.go): without ignoreChanges on them a
    tag change would replace the database's and storage's volumes, i.e. empty them."""
    changes = desired_state_diff(renders["base"].resources, renders["owner"].resources)
    volumes = [c for c in changes if c.type == VOLUME]
    assert volumes and all(c.op == "same" for c in volumes), [(c.urn, c.op) for c in volumes]
    # Containers carry the labels too, and are recreated (stateless: their data is in volumes).
    containers = {c.op for c in changes if c.type == CONTAINER}
    assert containers == {"replace"}, containers
    # The gate still stops on the Database and Storage roles' containers (stateful by role),
    # but on no volume: the data stays.
    config = ReleaseConfig("bootstrap", {})
    findings = gate_findings(changes, config, config)
    assert findings and not [f for f in findings if VOLUME in f], findings


def test_data_volumes_keep_the_labels_they_were_created_with(renders) -> None:
    for volume in by_type(renders["base"], VOLUME):
        assert volume["options"]["ignoreChanges"] == ["labels"], volume["urn"]
    assert is_stateful(VOLUME)


def test_networks_are_deleted_before_their_replacement_is_created(renders) -> None:
    """A Docker engine refuses a second network with an overlapping subnet, and a network's
    labels are ForceNew: a tag change replaces both networks, so the old ones must go first."""
    changes = desired_state_diff(renders["base"].resources, renders["owner"].resources)
    assert {c.op for c in changes if c.type == NETWORK} == {"replace"}
    for network in by_type(renders["base"], NETWORK):
        assert network["options"]["deleteBeforeReplace"] is True, network["urn"]
