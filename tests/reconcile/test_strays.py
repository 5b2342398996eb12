"""Stray containers: labelled as a stage's, not in its stack (pipeline/reconcile/strays.py),
and what reconcile makes of them: drift that no heal removes (fail-closed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pipeline.promote.deployer import DeployError
from pipeline.promote.memory import MemoryState
from pipeline.promote.state import StageChange
from pipeline.reconcile.run import Outcome
from pipeline.reconcile.strays import CONTAINER, docker_cli, find_strays, stage_labels
from tests.promote.typed_entries import stored, to_append
from tests.reconcile.fakes import FileDrift
from tests.reconcile.test_reconcile import DEV, IMAGES, reconciler


def container(cid: str, name: str, **tags: str) -> dict[str, Any]:
    labels = [{"label": k, "value": v} for k, v in {**tags, "name": name}.items()]
    return {"type": CONTAINER, "id": cid, "urn": f"urn:{name}", "outputs": {"labels": labels}}


STACK = [
    container("a" * 64, "dev-api-0", project="p", stage="dev"),
    container("b" * 64, "dev-web-0", project="p", stage="dev"),
    {"type": "docker:index/network:Network", "id": "n1", "outputs": {}},
]


class Docker:
    """``docker ps`` answering with the given containers; records the filters asked for."""

    def __init__(self, listed: str) -> None:
        self.listed = listed
        self.asked: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> str:
        self.asked.append(list(args))
        return self.listed


def test_the_stage_labels_are_those_every_container_shares_but_name() -> None:
    assert stage_labels(STACK) == {"project": "p", "stage": "dev"}
    assert stage_labels([STACK[2]]) == {}


def test_a_container_with_the_stage_labels_not_in_the_stack_is_a_stray() -> None:
    docker = Docker(f"{'a' * 64} dev-api-0\n{'c' * 64} dev-web-0\n")
    (stray,) = find_strays(STACK, docker)
    assert (stray.op, stray.type) == ("stray", CONTAINER)
    assert stray.urn == f"docker container dev-web-0 ({'c' * 12}), not in the stack"
    assert stray.old == {"id": "c" * 64, "name": "dev-web-0"}
    (asked,) = docker.asked
    assert asked[asked.index("--filter") :] == [
        "--filter",
        "label=project=p",
        "--filter",
        "label=stage=dev",
    ]


def test_no_containers_in_the_stack_asks_docker_nothing() -> None:
    docker = Docker("")
    assert find_strays([STACK[2]], docker) == [] and docker.asked == []


def test_without_the_docker_cli_the_search_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(DeployError, match="cannot look for stray containers"):
        docker_cli(["ps"])


def test_a_stray_is_never_healed_and_the_heal_says_how_to_remove_it(tmp_path: Path) -> None:
    state, cloud = MemoryState(tmp_path / "state"), FileDrift(tmp_path / "cloud.json")
    change = StageChange("dev", "p", "r-1", IMAGES, "c0ffee", "p-1", "forward", None)
    state.append(to_append({"promotion": "p-1", "stage": "dev", "step": "up"}), change)
    cloud.drift_out_of_band("dev", "stray")
    cloud.fault("dev", "sticky")  # the up leaves it: the stack does not manage it
    (result,) = reconciler(state, cloud, tmp_path).run([DEV])
    assert result.outcome is Outcome.HEAL_FAILED and result.drifted, result
    assert "after the heal still 1 stray" in result.detail, result.detail
    assert "reconcile removes nothing its stack does not manage" in result.detail
    entry = stored(state.entries())[-1]
    assert (entry["outcome"], entry["status"]) == ("heal failed", "failed")
