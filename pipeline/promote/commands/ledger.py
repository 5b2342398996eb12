"""``ledger verify``: the hash chain and head, and with the git state each promotion's gates
replayed against the pipeline file that governed it."""

from __future__ import annotations

import argparse
import sys

from pipeline import contract
from pipeline.promote.commands import wiring
from pipeline.promote.commands.inputs import fail
from pipeline.promote.ledger import LedgerError
from pipeline.promote.model import CommandOutcome, exit_code
from pipeline.promote.state import StateError, StateUnverifiedError


def verify(args: argparse.Namespace) -> int:
    try:
        state = wiring.state(args)
    except StateUnverifiedError as exc:  # a directory whose old ledger cannot be imported
        return fail(str(exc), CommandOutcome.STOPPED)
    except StateError as exc:  # no such remote, not a checkout: nothing was read to verify
        return fail(str(exc))
    try:
        check = state.verify()
    except (LedgerError, StateError) as exc:
        return fail(str(exc), CommandOutcome.STOPPED)  # could not verify: exit 1, as "tampered"
    problems, notes, findings = list(check.problems), list(check.notes), []
    if check.ok:
        try:
            audited = wiring.audit(args.protected_branch, state)
        except StateError as exc:
            problems.append(f"the promotions' gates were not audited: {exc}")
        else:
            notes += audited.notes if audited else []
            findings = list(audited.findings) if audited else []
    ok = not problems and not findings
    verdict = (
        CommandOutcome.VERIFIED
        if ok
        else (CommandOutcome.TAMPERED if problems else CommandOutcome.GATES_NOT_MET)
    )
    if args.json:
        contract.result(
            "ledger verify",
            exit_code(verdict),
            "chain, head and gates verify" if ok else "does NOT verify",
            outcome=verdict,
            entries=check.entries,
            problems=problems,
            notes=notes,
            findings=[f.to_json() for f in findings],
        )
    elif ok:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        print(
            f"ledger: {check.entries} entries, chain and head verify, every promotion's gates hold"
        )
    else:
        said = problems + [f"gates not met: {f}" for f in findings]
        print("ledger: does NOT verify:\n  " + "\n  ".join(said), file=sys.stderr)
    return exit_code(verdict)
