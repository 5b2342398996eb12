"""Hostile and careless input: every file and argument is refused early, in one line, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components.spec import SpecError, read_stack
from components.spec.bounded import MAX_DEPTH, MAX_FILE_BYTES, MAX_ITEMS, parse_yaml
from components.spec.model import MAX_TAGS
from pipeline.policy.config import PolicyConfigError, resolve
from pipeline.stages import StagesError, load_stages
from tests.conftest import PROJECT_DIR, edit_stack


def alias_bomb() -> str:
    """The "billion laughs" document of the issue: 444 bytes, 9**8 strings once expanded."""
    lines = ["config:", "  stageline:tags:", '    a0: &a0 ["lol","lol","lol","lol","lol"]']
    for level in range(1, 9):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"    a{level}: &a{level} [{refs}]")
    return "\n".join(lines)[:444].rsplit("\n", 1)[0] + "\n"


def _problems(stacks_dir: Path, stack: str) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        read_stack(stacks_dir, stack)
    assert caught.value.source.endswith(f"Pulumi.{stack}.yaml"), caught.value.source
    return [(p.key, p.message) for p in caught.value.problems]


def _cli(*args: str, cwd: Path = PROJECT_DIR) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line_exit_2(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) <= 2, done.stderr  # "plan: invalid configuration ..." heading + the problem
    for needle in needles:
        assert needle in done.stderr, done.stderr


def test_alias_bomb_is_refused_fast(stacks_copy: Path) -> None:
    bomb = alias_bomb()
    assert len(bomb.encode()) <= 444 and bomb.count("*a") > 30
    (stacks_copy / "Pulumi.dev.yaml").write_text(bomb)
    started = time.monotonic()
    problems = _problems(stacks_copy, "dev")
    assert time.monotonic() - started < 2
    assert problems[0][0].startswith("config.stageline:tags.a1"), problems
    assert "alias" in problems[0][1]


def test_alias_bomb_in_plan_exits_2_fast(stacks_copy: Path) -> None:
    (stacks_copy / "Pulumi.dev.yaml").write_text(alias_bomb())
    started = time.monotonic()
    done = _cli("plan", "--stacks-dir", str(stacks_copy), "--stack", "dev")
    assert time.monotonic() - started < 30
    _one_line_exit_2(done, "Pulumi.dev.yaml: config.stageline:tags.a1", "alias")


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (
            "config:\n  stageline:owner: a\n  stageline:owner: b\n",
            "config.stageline:owner",
            "duplicate key at line 3 (first at line 2)",
        ),
        (
            "config:\n  stageline:scale:\n    natGateways: single\n    natGateways: perAz\n",
            "config.stageline:scale.natGateways",
            "duplicate key at line 4",
        ),
        (
            "config:\n  stageline:tags:\n    x: "
            + "[" * (MAX_DEPTH + 1)
            + "]" * (MAX_DEPTH + 1)
            + "\n",
            "config.stageline:tags.x.0.0.0.…",
            f"nested deeper than {MAX_DEPTH} levels",
        ),
        (
            "config:\n  stageline:tags:\n    x: [" + ",".join(["1"] * (MAX_ITEMS + 1)) + "]\n",
            "config.stageline:tags.x",
            f"more than {MAX_ITEMS} entries",
        ),
        ("config:\n  stageline:tags: {a: 1\n", "config", "not valid YAML at line 3"),
        ("config:\n  stageline:cidr: " + "9" * 5000 + "\n", "config", "not a valid value"),
    ],
    ids=["duplicate", "nested-duplicate", "deep", "long-list", "invalid", "huge-integer"],
)
def test_bounds_name_file_and_key(stacks_copy: Path, text: str, key: str, message: str) -> None:
    (stacks_copy / "Pulumi.dev.yaml").write_text(text)
    [(found_key, found)] = _problems(stacks_copy, "dev")
    assert found_key == key
    assert message in found


def test_deep_nesting_never_reaches_the_recursion_limit() -> None:
    depth = 100_000
    with pytest.raises(SpecError, match="nested deeper"):
        parse_yaml("[" * depth + "]" * depth, "f.yaml", "config")


def test_oversized_file_is_refused_before_it_is_read(stacks_copy: Path) -> None:
    path = stacks_copy / "Pulumi.dev.yaml"
    path.write_text(path.read_text() + "#" * MAX_FILE_BYTES)
    [(key, message)] = _problems(stacks_copy, "dev")
    assert key == "config" and f"at most {MAX_FILE_BYTES}" in message


def test_non_utf8_stack_file(stacks_copy: Path) -> None:
    (stacks_copy / "Pulumi.dev.yaml").write_bytes(b"config:\n  stageline:owner: caf\xe9\n")
    [(key, message)] = _problems(stacks_copy, "dev")
    assert key == "config" and "not UTF-8" in message and "0xe9" in message


def test_directory_where_a_stack_file_should_be(stacks_copy: Path) -> None:
    path = stacks_copy / "Pulumi.dev.yaml"
    path.unlink()
    path.mkdir()
    [(key, message)] = _problems(stacks_copy, "dev")
    assert key == "config" and "directory" in message
    done = _cli("plan", "--stacks-dir", str(stacks_copy), "--stack", "dev")
    _one_line_exit_2(done, "Pulumi.dev.yaml: config: expected a file, found a directory")


def test_duplicate_key_in_the_pipeline_file(stacks_copy: Path) -> None:
    path = stacks_copy / "pipeline.yaml"
    path.write_text(path.read_text().replace("pipelines:\n", "pipelines:\n  aws: {}\n", 1))
    with pytest.raises(StagesError) as caught:
        load_stages(stacks_copy, ["dev"])
    assert "pipeline.yaml: pipelines.aws: duplicate key" in str(caught.value)


def test_tag_count_is_bounded_by_the_clouds_limit(stacks_copy: Path) -> None:
    blueprint = 5  # stage, project, owner, cost-center, managed-by
    allowed = {f"t{i}": "x" for i in range(MAX_TAGS - blueprint)}
    edit_stack(stacks_copy, "dev", lambda c: c.update({"stageline:tags": allowed}))
    assert len(read_stack(stacks_copy, "dev").spec().identity.resource_tags()) == MAX_TAGS
    too_many = {f"t{i}": "x" for i in range(200)}
    edit_stack(stacks_copy, "dev", lambda c: c.update({"stageline:tags": too_many}))
    with pytest.raises(SpecError) as caught:
        read_stack(stacks_copy, "dev").spec()
    [problem] = caught.value.problems
    assert problem.key == "stageline:tags"
    assert f"at most {MAX_TAGS - blueprint} extra tags" in problem.message
    assert "got 200" in problem.message


def test_tag_key_longer_than_the_clouds_allow(stacks_copy: Path) -> None:
    edit_stack(stacks_copy, "dev", lambda c: c.update({"stageline:tags": {"k" * 129: "v"}}))
    with pytest.raises(SpecError) as caught:
        read_stack(stacks_copy, "dev").spec()
    assert caught.value.problems[0].key.startswith("stageline:tags")


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        ('{"all": "advisory", "all": "mandatory"}', "all", "duplicate key"),
        ("[" * 5000 + "]" * 5000, "(file)", "nested deeper"),
        ('{"all": "advisory"', "(file)", "not valid JSON"),
    ],
    ids=["duplicate", "deep", "invalid"],
)
def test_policy_config_bounds(tmp_path: Path, text: str, key: str, message: str) -> None:
    path = tmp_path / "live.json"
    path.write_text(text)
    with pytest.raises(PolicyConfigError) as caught:
        resolve(path, "live", [])
    [(found_key, found)] = caught.value.problems
    assert found_key == key and message in found
    assert str(path) in str(caught.value)


def test_policy_config_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "live.json"
    path.write_bytes(b'{"all": "\xff"}')
    with pytest.raises(PolicyConfigError, match="not UTF-8"):
        resolve(path, "live", [])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["plan", "--jobs", "-3"], "argument --jobs: expected at least 1, got -3"),
        (["plan", "--jobs", "many"], "argument --jobs: expected a whole number"),
        (["plan", "--stacks-dir", "README.md"], "README.md: expected a directory, found a file"),
        (["plan", "--stacks-dir", "no-such-dir"], "no-such-dir: no such directory"),
        (["diff", "--base", "HEAD", "--jobs", "0"], "argument --jobs: expected at least 1"),
        (["diff", "--base", "HEAD", "--timeout", "-1"], "argument --timeout"),
        (["history", "--state-dir", "README.md"], "README.md: expected a directory, found a file"),
        (["status", "--offline", "--state-dir", "README.md/x"], "README.md is a file"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(args: list[str], needle: str) -> None:
    done = _cli(*args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "usage:" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert needle in done.stderr, done.stderr


def test_shipped_files_are_within_the_bounds() -> None:
    sizes = {p.name: p.stat().st_size for p in (PROJECT_DIR / "stacks").glob("*.yaml")}
    assert max(sizes.values()) < MAX_FILE_BYTES // 16, sizes
    for path in (PROJECT_DIR / "policies" / "config").glob("*.json"):
        assert json.loads(path.read_text())  # and resolve() reads them in test_harness
