"""A review stage's names, network and stack file, offline; and that it is no promotion target."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from components.spec.loader import PROJECT
from pipeline.cli import main
from pipeline.review.stage import (
    REVIEW_POOL,
    ReviewError,
    identity,
    parse_stack,
    pick_cidr,
    review_stack,
    stack_file,
)

ROOT = Path(__file__).resolve().parents[2]


def test_names_are_the_pull_request_and_the_pipeline() -> None:
    assert review_stack(7, "docker") == "pr7-docker"
    assert parse_stack("pr7-docker") == (7, "docker")
    for other in ("local-dev", "pr-docker", "pr0-docker", "pr7", "dev"):
        assert parse_stack(other) is None, other


def test_two_reviews_and_the_pipelines_never_share_a_network() -> None:
    pipelines = [
        str(v)
        for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
        for k, v in (yaml.safe_load(path.read_text())["config"]).items()
        if k.endswith(":cidr")
    ]
    first = pick_cidr(7, pipelines)
    second = pick_cidr(7 + 32, [*pipelines, first])  # the same slot of the pool: the next one
    nets = [ipaddress.ip_network(c) for c in (first, second)]
    assert nets[0] != nets[1] and all(n.subnet_of(REVIEW_POOL) for n in nets), nets
    for taken in map(ipaddress.ip_network, pipelines):
        assert not any(n.overlaps(taken) for n in nets), taken
    assert pick_cidr(7, []) == pick_cidr(7, [])  # stable for one pull request


def test_a_full_pool_is_refused() -> None:
    with pytest.raises(ReviewError, match="every /16"):
        pick_cidr(1, [str(REVIEW_POOL)])


def test_the_stack_file_keeps_the_first_stages_scale_under_its_own_identity() -> None:
    first = yaml.safe_load((ROOT / "stacks" / "Pulumi.local-dev.yaml").read_text())
    first["encryptionsalt"] = "v1:salt-of-local-dev"
    first["config"][f"{PROJECT}:token"] = {"secure": "v1:ciphertext"}
    who = identity(7, "docker", first["config"][f"{PROJECT}:domain"], ["10.81.0.0/16"])
    images = {"web": "r/web@sha256:" + "b" * 64, "api": "r/api@sha256:" + "a" * 64}
    doc = yaml.safe_load(stack_file(first, who, "r-0123456789abcdef", images))
    config = doc["config"]
    assert config[f"{PROJECT}:stage"] == "pr7" and config[f"{PROJECT}:cidr"] == who.cidr
    assert config[f"{PROJECT}:domain"] == "pr7.local.stageline.localhost"
    assert config[f"{PROJECT}:release"] == "r-0123456789abcdef"
    assert config[f"{PROJECT}:images"] == dict(sorted(images.items()))
    assert config[f"{PROJECT}:scale"] == first["config"][f"{PROJECT}:scale"]
    assert f"{PROJECT}:token" not in config and "encryptionsalt" not in doc
    assert doc["secretsprovider"] == "passphrase"


def test_a_review_stage_is_never_a_promotion_target(tmp_path: Path, capsys) -> None:
    state = ["--state-dir", str(tmp_path)]
    code = main(["promote", "r-0123456789abcdef", "--to", "pr7-docker", "--rehearse", *state])
    assert code == 2
    assert "pr7-docker" in capsys.readouterr().err


def test_bad_input_is_refused_in_one_line_before_anything_runs(tmp_path: Path, capsys) -> None:
    state = ["--state-dir", str(tmp_path)]
    up = ["review", "up", "--pr", "7", "--pipeline", "docker", "--release", "r-0123456789abcdef"]
    assert main([*up, *state]) == 2
    assert main(["review", "down", "--pr", "7", "--pipeline", "nope", *state]) == 2
    assert main(["review", "sweep", "--ttl-hours", "-1", *state]) == 2
    said = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert "refused, nothing deployed" in said[0] and "r-0123456789abcdef" in "\n".join(said)
    assert any("nope" in line for line in said) and any("-1" in line for line in said), said
    assert not (tmp_path / ".git").exists() and not list(tmp_path.glob("**/Pulumi.pr7-*.yaml"))
