"""The one table from outcome to exit code: complete, the two "rolled back" apart, the same as
docs/json.md says, and enforced on every ``--json`` result line."""

from __future__ import annotations

import re

import pytest

from pipeline import contract
from pipeline.promote.model import (
    EXIT_CODES,
    CommandOutcome,
    PromotionOutcome,
    StageOutcome,
    exit_code,
)
from tests.conftest import PROJECT_DIR

ROW = re.compile(r"^\| ((?:`[^`]+`(?:, )?)+) \| (\d+) \|", re.MULTILINE)


def test_every_outcome_but_superseded_has_one_exit_code():
    for enum in (PromotionOutcome, StageOutcome, CommandOutcome):
        for member in enum:
            if member is PromotionOutcome.SUPERSEDED:
                with pytest.raises(KeyError):
                    exit_code(member)
                continue
            assert isinstance(exit_code(member), int), member
    keys = [(type(o), o.value) for o, _ in EXIT_CODES]
    assert len(keys) == len(set(keys)), "an outcome listed twice"


def test_the_two_meanings_of_rolled_back_exit_differently():
    assert PromotionOutcome.ROLLED_BACK == StageOutcome.ROLLED_BACK == "rolled back"
    assert exit_code(PromotionOutcome.ROLLED_BACK) == 0
    assert exit_code(StageOutcome.ROLLED_BACK) == 1


def test_docs_json_lists_every_outcome_with_its_code():
    text = (PROJECT_DIR / "docs" / "json.md").read_text(encoding="utf-8")
    documented = {
        (name, int(code))
        for names, code in ROW.findall(text)
        for name in re.findall(r"`([^`]+)`", names)
    }
    assert documented == set(contract.PAIRS), (
        f"docs/json.md lacks {sorted(set(contract.PAIRS) - documented)},"
        f" lists {sorted(documented - set(contract.PAIRS))} the code never emits"
    )


def test_a_result_line_with_another_code_is_a_programming_error(capsys):
    with pytest.raises(ValueError, match="outcome 'refused' does not exit 3"):
        contract.result("promote", 3, "x", outcome="refused")
    contract.result("promote", 3, "x", outcome=PromotionOutcome.BUSY)
    assert '"outcome": "busy"' in capsys.readouterr().out
