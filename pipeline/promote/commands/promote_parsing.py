"""The argparse definition of ``promote`` (its options, help and exit codes), and the
options it shares with the other promotion commands (moved from parsing.py)."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.arguments import (
    action,
    existing_file,
    health_timeout_option,
    policy_pack_option,
    record_options,
)
from pipeline.promote.commands import promote as promotion
from pipeline.promote.model import (
    EXIT_BUSY,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_PROPOSED,
    EXIT_STOPPED,
)


def protected_option(parser: argparse.ArgumentParser) -> None:
    """``--protected-branch`` (release create, promote, ledger verify)."""
    parser.add_argument(
        "--protected-branch",
        metavar="BRANCH",
        help="the reviewed branch on --remote whose pipeline file and policy configs govern"
        " promotions, and which a release's commit must be on to enter staging and live"
        " (default: the remote's default branch)",
    )


PROMOTE_EXITS = {
    EXIT_OK: "done, or nothing to do",
    EXIT_STOPPED: "stopped: a gate, a failed update or verification, a rollback",
    EXIT_INVALID: "refused: bad input, an ineligible release or a missing Pulumi CLI;"
    " nothing deployed, nothing written",
    EXIT_BUSY: "busy: another promotion or a Pulumi update holds a lock",
    EXIT_PROPOSED: "proposed: the stage is promoted by pull request; its next record waits for"
    " review on promotions/<stack>/<release> (rollback-<release> for --rollback), nothing"
    " deployed",
    130: "interrupted (resumable: run the same command again)",
}


def deployer_option(parser: argparse.ArgumentParser) -> None:
    """``--deployer`` (promote, status)."""
    parser.add_argument(
        "--deployer",
        default="automation",
        metavar="automation|offline|MODULE:FACTORY",
        help="how stacks are read and updated: the Pulumi Automation API (default, needs the"
        " Pulumi CLI), offline (the mock renderer, no cloud; see docs/promotion.md) or a factory"
        " called with the project, stacks and state directories",
    )


def register_promote(commands: Any) -> None:
    """The ``promote`` subcommand on ``commands``."""
    promote = action(
        commands,
        "promote",
        promotion.promote,
        help="move a release through the pipeline up to a stage",
        description="Move RELEASE through the stages of its pipeline, in order, up to the stage"
        " --to names: per stage, check eligibility, set the images, preview with the policy pack,"
        " apply the gates, update from the saved plan, verify the health paths and record each"
        " step in the ledger. A stage that needs approval takes --approve --approver NAME (or a"
        " confirmation on a terminal). A failed verification rolls the stage back to its last"
        " verified release and stops. --rehearse does all of it offline, deploying nothing.",
        exits=PROMOTE_EXITS,
    )
    promote.add_argument("release", metavar="RELEASE", help="release id (from release create)")
    promote.add_argument(
        "--to", required=True, metavar="STAGE", help="the last stage to promote to (a stack name)"
    )
    promote.add_argument(
        "--pipeline",
        metavar="NAME",
        help="pipeline of the stage (default: the one holding --to, else the first in the file)",
    )
    promote.add_argument(
        "--rollback",
        action="store_true",
        help="return STAGE to RELEASE (proposed as a rollback where STAGE is promoted by pull"
        " request; its merge deploys with --merged --rollback)",
    )
    promote.add_argument(
        "--auto", action="store_true", help="continuous deployment through autoPromote stages"
    )
    promote.add_argument("--approve", action="store_true", help="approve stages that need it")
    promote.add_argument("--approver", metavar="NAME", help="who approved (with --approve)")
    promote.add_argument(
        "--override-freeze",
        metavar="REASON",
        help="go ahead inside a stage's freeze window (stacks/pipeline.yaml: freeze); needs"
        " --approve --approver NAME; who and why are recorded in the promotion's start entry",
    )
    promote.add_argument(
        "--merged",
        action="store_true",
        help="deploy the reviewed merge of STAGE's proposal (a stage promoted by pull request;"
        " CI runs it when the pull request is merged)",
    )
    promote.add_argument(
        "--reviewer",
        metavar="LOGIN",
        help="with --merged: who approved the pull request, from the forge's API (default: the"
        " merge commit's committer)",
    )
    promote.add_argument(
        "--proposer",
        metavar="LOGIN",
        help="with --reviewer: who opened the pull request (default: the proposal's author)",
    )
    promote.add_argument(
        "--rehearse",
        action="store_true",
        help="offline: per stage the diff, the policy result and the gates; nothing deployed",
    )
    policy_pack_option(promote)
    promote.add_argument(
        "--policy-pack-config",
        type=existing_file,
        metavar="FILE",
        help="enforcement config (default: policies/config/<stage>.json of each stack's stage)",
    )
    deployer_option(promote)
    health_timeout_option(promote, "verification")
    protected_option(promote)
    record_options(promote)
