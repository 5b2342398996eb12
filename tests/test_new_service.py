"""A new service is a blueprint entry plus an image per stage (docs/adopt.md, "Add a service").
In a repository whose head adds a ``worker`` service, ``diff`` shows every AWS stage gaining the
worker's own resources and nothing else removed or replaced, and a rehearsed promotion carries
a release with the worker's image (a release without it is refused, naming the service)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from components import project
from tests.test_rename import commit_all, copy_project, run

AWS = ["dev", "test", "staging", "live"]
WORKER = "worker"
DIGEST = "sha256:" + "ef" * 32


def _add_worker(root: Path) -> None:
    yaml = YAML()  # round trip: the files keep their comments, as an engineer's edit would
    blueprint = yaml.load((root / "blueprint.yaml").read_text())
    blueprint["services"][WORKER] = {
        "port": 9090,
        "healthPath": "/healthz",
        "public": False,
        "cpuArchitecture": "ARM64",
        "uses": ["database"],
    }
    with (root / "blueprint.yaml").open("w") as handle:
        yaml.dump(blueprint, handle)
    for path in sorted((root / "stacks").glob("Pulumi.*.yaml")):
        doc = yaml.load(path.read_text())
        doc["config"][project.key("images")][WORKER] = f"ghcr.io/acme/{WORKER}@{DIGEST}"
        with path.open("w") as handle:
            yaml.dump(doc, handle)


@pytest.fixture(scope="module")
def with_worker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_project(tmp_path_factory.mktemp("worker"))
    commit_all(root, "before the worker")
    _add_worker(root)  # the working tree is the head
    return root


def test_the_diff_adds_the_workers_resources_to_every_stage(with_worker: Path) -> None:
    stacks = [w for s in AWS for w in ("--stack", s)]
    result = run(with_worker, "diff", "--base", "HEAD", *stacks, "--format", "json", "--no-cache")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    stages = json.loads(result.stdout)["stages"]
    assert sorted(stages) == sorted(AWS)
    for stack, diff in stages.items():
        added = {(r["type"], r["name"]) for r in diff["added"]}
        types = {t for t, name in added if WORKER in name}
        for token in (
            "aws:ecs/service:Service",
            "aws:ecs/taskDefinition:TaskDefinition",
            "aws:ecr/repository:Repository",
        ):
            assert token in types, (stack, token, sorted(added))
        # The others' resources stay as they are: nothing removed, changed or replaced.
        assert diff["removed"] == [] and diff["changed"] == [], stack
    assert json.loads(result.stdout)["findings"] == []


def test_a_release_must_carry_the_new_service(with_worker: Path, tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    old = [f"--image={s}=ghcr.io/acme/{s}@{DIGEST}" for s in ("api", "web")]
    refused = run(with_worker, "release", "create", *old, *state)
    assert refused.returncode == 2 and WORKER in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "state" / "releases").exists() or not any(
        (tmp_path / "state" / "releases").iterdir()
    ), "a refused release writes nothing"


def test_a_rehearsal_deploys_the_release_with_the_worker(with_worker: Path, tmp_path: Path) -> None:
    state = ["--state-dir", str(tmp_path / "state")]
    images = [f"--image={s}=ghcr.io/acme/{s}@{DIGEST}" for s in ("api", "web", WORKER)]
    created = run(with_worker, "release", "create", *images, *state, "--json")
    assert created.returncode == 0, created.stderr
    release = json.loads(created.stdout.splitlines()[-1])["release"]
    result = run(with_worker, "promote", release, "--to", "test", "--rehearse", *state, "--json")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1]["event"] == "result" and events[-1]["outcome"] == "rehearsed", events[-1]
    walked = {stage["stack"]: stage for stage in events[-1]["rehearsal"]["stages"]}
    assert list(walked) == ["dev", "test"], list(walked)
    for stack, stage in walked.items():
        # Every service's image is copied into the stage's registry, the worker's too.
        assert any(c.startswith(f"{WORKER}:") for c in stage["copies"]), (stack, stage["copies"])
        # One new task definition per service (pulumi-aws replaces a TaskDefinition on any
        # container change), the worker's among them; nothing else moves.
        assert stage["counts"]["replace"] == 3 and set(stage["counts"]) == {"replace", "same"}
        assert any(f"{stack}-services-{WORKER}-task" in line for line in stage["diff"]), stack
