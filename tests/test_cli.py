"""The command line itself: help on every command and option, exit codes in every command's
help, the README's reference kept current, and no traceback for any expected failure."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import reference, usage
from pipeline.cli import main, parser
from tests.promote.typed_entries import to_append

PROJECT_DIR = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "a" * 64


def _commands(
    command: argparse.ArgumentParser,
) -> list[argparse.ArgumentParser]:
    """Every parser under the root, groups (release, ledger, policies) included."""
    out = []
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out += [sub, *_commands(sub)]
    return out


COMMANDS = _commands(parser())
LEAVES = [c for c in COMMANDS if c.prog in usage.EXIT_CODES]


def test_every_command_is_a_leaf_with_exit_codes_or_a_group():
    groups = {c.prog for c in COMMANDS if c not in LEAVES}
    assert groups == {
        f"{usage.command_name()} {g}" for g in ("release", "ledger", "policies", "record", "review")
    }
    assert len(LEAVES) == 20


@pytest.mark.parametrize(
    "command", COMMANDS, ids=lambda c: c.prog.removeprefix(usage.command_name()).strip()
)
def test_every_option_has_help(command):
    missing = [
        a.dest
        for a in command._actions
        if not isinstance(a, argparse._SubParsersAction) and not a.help
    ]
    assert missing == [], f"{command.prog}: options without help: {missing}"
    assert command.description, f"{command.prog} has no description"


@pytest.mark.parametrize(
    "command", LEAVES, ids=lambda c: c.prog.removeprefix(usage.command_name()).strip()
)
def test_help_shows_exit_codes_without_markup(command, capsys):
    words = command.prog.removeprefix(usage.command_name()).split()
    with pytest.raises(SystemExit) as done:
        main([*words, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "exit codes:" in text
    for code in usage.EXIT_CODES[command.prog]:
        assert f"\n  {code} " in text, f"{command.prog} --help does not explain exit {code}"
    assert "``" not in text, "RST markup in help"
    assert max(len(line) for line in text.splitlines()) <= 100


def test_readme_reference_is_current():
    current = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert reference.updated(current) == current, "run python -m pipeline.reference"
    for command in LEAVES:
        assert f"| `{command.prog.removeprefix(usage.command_name()).strip()}` |" in current


def test_reference_check_fails_when_stale(tmp_path, monkeypatch):
    stale = tmp_path / "README.md"
    stale.write_text(f"# x\n\n{reference.START}\nold\n{reference.END}\n")
    monkeypatch.setattr(reference, "README", stale)
    assert reference.main(["--check"]) == 1
    assert reference.main([]) == 0
    assert reference.main(["--check"]) == 0
    assert "| `promote` |" in stale.read_text()


# ------------------------------------------------------------------ no tracebacks


@pytest.fixture(scope="module")
def sweep_dirs(tmp_path_factory):
    """A state dir with a release and a ledger long enough to fill a pipe; a PATH dir with git
    alone (a --state-dir is a git record; no Pulumi CLI, whatever the machine has installed)."""
    root = tmp_path_factory.mktemp("sweep")
    state, empty = root / "state", root / "bin"
    empty.mkdir()
    (empty / "git").symlink_to(shutil.which("git") or "git")
    (state / "releases").mkdir(parents=True)
    from pipeline.promote.ledger import Ledger

    ledger = Ledger(state / "ledger.jsonl")
    for _ in range(200):  # 200 kB, past any pipe buffer
        ledger.append(
            to_append({"step": "note", "stage": "dev", "release": "r-x", "detail": "x" * 1000})
        )
    return state, empty


def _run(args: list[str], env_path: str | None = None, **kwargs):
    env = dict(os.environ, NO_COLOR="1")
    if env_path is not None:
        env["PATH"] = env_path
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


BAD_INPUT = [
    (["plan", "--stack", "nosuch"], 2, "no stack 'nosuch'"),
    (["plan", "--stacks-dir", "/nonexistent"], 2, "no such directory"),
    (["plan", "--jobs", "0"], 2, "at least 1"),
    (["schema", "--stacks-dir", "/nonexistent"], 2, "no such directory"),
    (["diff", "--base", "no-such-revision"], 2, "not a commit"),
    (["policies", "catalog", "--pack-dir", "/nonexistent"], 2, "not a policy pack"),
    (["release", "create", "--image", "bad"], 2, "expected SERVICE=REPO@sha256"),
    (["release", "show", "r-nope"], 2, "no release 'r-nope'"),
    (["promote", "r-x", "--to", "lve"], 2, "did you mean 'live'?"),
    (["promote", "r-x", "--to", "dev"], 2, "Pulumi CLI is not installed"),
    (["promote", "r-x", "--to", "dev", "--deployer", "nosuch:thing"], 2, "no module"),
    (["promote", "r-x", "--to", "dev", "--deployer", "nocolon"], 2, "MODULE:FACTORY"),
    (["promote", "r-x", "--to", "dev", "--deployer", "json:nosuch"], 2, "has no 'nosuch'"),
    (["promote", "r-x", "--to", "dev", "--pipeline", "gcp"], 2, "no pipeline 'gcp'"),
    (["promote", "r-x", "--to", "dev", "--rehearse"], 2, "no release 'r-x'"),
    (["status"], 2, "--offline reads the stack files"),
    (["status", "--pipeline", "awz"], 2, "did you mean 'aws'?"),
    (["history", "--stage", "stagin"], 2, "did you mean 'staging'?"),
    (["history", "--limit", "-1"], 2, "at least 1"),
    (["metrics", "--pipeline", "typo"], 2, "no pipeline 'typo'"),
    (["metrics", "--stage", "lve"], 2, "did you mean 'live'?"),
    (["metrics", "--days", "0"], 2, "at least 1"),
    (["promote", "r-x", "--to", "dev", "--health-timeout", "-1"], 2, "positive number of seconds"),
    (["promote", "r-x", "--to", "dev", "--policy-pack", "/nonexistent"], 2, "no such directory"),
    (["promote", "r-x", "--to", "dev", "--policy-pack", "stacks"], 2, "not a policy pack"),
    (["promote", "r-x", "--to", "dev", "--policy-pack-config", "/nonexistent"], 2, "no such file"),
    (["metrics", "--days", "100000000"], 2, "at most 36500"),
    (["record", "pin", "--stack", "lve"], 2, "did you mean 'live'?"),
    (["plan", "--width", "5"], 2, "at least 20 columns"),
    (["diff", "--base", "HEAD", "--width", "5"], 2, "at least 20 columns"),
    (["ledger", "verify", "--remote", "nosuch"], 2, "no git remote 'nosuch'"),
    (["plan", "--cache-dir", "/proc/nope"], 2, "--cache-dir /proc/nope: cannot create it"),
    (["plan", "--cache-dir", "README.md"], 2, "expected a directory, found a file"),
    (["diff", "--base", "HEAD", "--cache-dir", "/proc/nope"], 2, "cannot create it"),
    (["diff", "--base", "HEAD", "--stack", "dev", "--output", "/proc/x.md"], 2, "cannot write"),
    (["adopt", "--region", "bad"], 2, "expected SUBSTRATE=REGION"),
    (["adopt", "--stacks-dir", "/nonexistent"], 2, "no such directory"),
    (["release"], 2, "required"),
    (["policies"], 2, "required: ACTION"),
    (["ledger"], 2, "required: ACTION"),
    (["record"], 2, "required: ACTION"),
    (["policies", "nosuch"], 2, "invalid choice: 'nosuch'"),
    (["nosuch"], 2, "invalid choice"),
    (["reconcile", "--stage", "lve"], 2, "did you mean 'live'?"),
    (["reconcile", "--stage", "dev"], 2, "Pulumi CLI is not installed"),
    (["reconcile", "--approve"], 2, "--approve and --approver NAME go together"),
    (["reconcile", "--pipeline", "dev", "--stage", "dev"], 2, "not allowed with"),
    (["review", "up", "--pr", "0", "--release", "r-x"], 2, "at least 1"),
    (["review", "up", "--pr", "7", "--release", "r-x"], 2, "no release 'r-x'"),
    (["review", "down", "--pr", "7", "--pipeline", "awz"], 2, "did you mean 'aws'?"),
    (["review", "sweep", "--ttl-hours", "x"], 2, "expected hours"),
    (["review"], 2, "required: ACTION"),
]


@pytest.mark.parametrize(("args", "code", "says"), BAD_INPUT, ids=lambda v: str(v))
def test_bad_input_is_one_message_and_a_documented_code(sweep_dirs, args, code, says):
    state, empty = sweep_dirs
    git = "diff" in args or "--remote" in args  # these read git: PATH keeps it
    bare_group = args in (["release"], ["ledger"], ["record"], ["review"])
    grouped = args[0] in usage_state_commands() and not bare_group and not git
    state_args = ["--state-dir", str(state)] if grouped else []
    done = _run([*args, *state_args], env_path=None if git else str(empty))
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == code, done.stderr
    assert says in done.stderr
    assert done.stdout == ""
    # Words for people, not Python: no list repr, no None.
    assert "['" not in done.stderr and "None" not in done.stderr, done.stderr


def usage_state_commands() -> set[str]:
    return {
        "release",
        "promote",
        "status",
        "history",
        "metrics",
        "ledger",
        "record",
        "reconcile",
        "review",
    }


def test_a_closed_pipe_ends_quietly(sweep_dirs):
    state, _ = sweep_dirs
    reader = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "history", "--json", "--state-dir", str(state)],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout is not None and reader.stderr is not None
    first = reader.stdout.readline()
    reader.stdout.close()  # what `| head -1` does after its line
    err = reader.stderr.read().decode()
    assert reader.wait(timeout=60) == usage.EXIT_PIPE
    assert json.loads(first)["event"] == "entry"
    assert err == "", err


def test_a_broken_ledger_is_one_line(tmp_path):
    (tmp_path / "ledger.jsonl").write_text("not json\n")
    done = _run(["ledger", "verify", "--state-dir", str(tmp_path)])
    assert "Traceback" not in done.stderr
    assert done.returncode == 1
    assert "not a JSON entry" in done.stderr
    done = _run(["history", "--state-dir", str(tmp_path)])
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2
