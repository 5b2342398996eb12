"""The shared option groups and the promotion commands' wiring: one definition of the record
options for every command, and refusals whose exit codes come from the one outcome table."""

from __future__ import annotations

import argparse
import json

import pytest

from pipeline.cli import parser
from pipeline.promote.commands import inputs, wiring
from pipeline.promote.model import CommandOutcome, PromotionOutcome, exit_code
from pipeline.record.local import BARE, LocalGitState
from pipeline.usage import CommandError

RECORD_OPTIONS = ("--remote", "--state-dir", "--repo")


def _commands(command: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    out = []
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out += [sub, *_commands(sub)]
    return out


def _options(command: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {a.option_strings[-1]: a for a in command._actions if a.option_strings}


def test_record_options_are_one_definition_in_every_command():
    seen: dict[str, set[tuple[object, ...]]] = {}
    takers = []
    for command in _commands(parser()):
        options = _options(command)
        if "--remote" not in options:
            continue
        takers.append(command.prog)
        assert set(RECORD_OPTIONS) <= set(options), f"{command.prog}: not every record option"
        for name in (*RECORD_OPTIONS, "--json"):
            if name in options:
                a = options[name]
                seen.setdefault(name, set()).add((a.help, a.default, a.metavar, a.type))
    assert len(takers) >= 15, takers  # promote's ten, report, reconcile, review's three
    for name, definitions in seen.items():
        assert len(definitions) == 1, f"{name} defined {len(definitions)} ways: {definitions}"


@pytest.mark.parametrize(
    ("outcome", "code"),
    [(CommandOutcome.REFUSED, 2), (CommandOutcome.STOPPED, 1), (PromotionOutcome.BUSY, 3)],
)
def test_fail_takes_its_code_from_the_outcome_table(outcome, code):
    with pytest.raises(CommandError) as refused:
        inputs.fail("no", outcome)
    assert refused.value.code == code == exit_code(outcome)


def test_fail_refuses_by_default():
    with pytest.raises(CommandError) as refused:
        inputs.fail("no")
    assert refused.value.code == exit_code(CommandOutcome.REFUSED) == 2


def test_said_returns_the_table_code_and_names_the_outcome(capsys):
    args = argparse.Namespace(json=True)
    code = inputs.said(args, "record pin", "pinned it", CommandOutcome.PINNED, stack="dev")
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code == 0
    assert (result["outcome"], result["code"], result["stack"]) == ("pinned", 0, "dev")


def test_wiring_gives_a_state_dir_its_git_record(tmp_path):
    args = argparse.Namespace(state_dir=str(tmp_path / "state"), repo=str(tmp_path), remote="o")
    state = wiring.state(args)
    assert isinstance(state, LocalGitState) and (tmp_path / "state" / BARE / "HEAD").exists()
    assert state.scratch_dir() == tmp_path / "state"  # where the deployer's files go
