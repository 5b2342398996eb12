"""The argparse definitions of ``release``, ``promote``, ``status``, ``history``,
``metrics``, ``ledger``, ``stages`` and ``record``: options, help and exit codes; each
command's handler lives in its family's module."""

from __future__ import annotations

import argparse
from typing import Any

from pipeline.arguments import (
    action,
    at_most,
    command_group,
    existing_file,
    health_timeout_option,
    policy_pack_option,
    positive_int,
    record_options,
)
from pipeline.promote.commands import ci, ledger, reading, release
from pipeline.promote.commands import promote as promotion
from pipeline.promote.commands.reading import HISTORY_SHOWN
from pipeline.promote.model import (
    EXIT_BUSY,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_PROPOSED,
    EXIT_STOPPED,
)


def _protected_option(parser: argparse.ArgumentParser) -> None:
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
READ_EXITS = {
    EXIT_OK: "shown",
    EXIT_INVALID: "bad input (unknown pipeline or stage, a missing Pulumi CLI)",
}


def _deployer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--deployer",
        default="automation",
        metavar="automation|offline|MODULE:FACTORY",
        help="how stacks are read and updated: the Pulumi Automation API (default, needs the"
        " Pulumi CLI), offline (the mock renderer, no cloud; see docs/promotion.md) or a factory"
        " called with the project, stacks and state directories",
    )


def register(commands: Any) -> None:
    release_commands = command_group(
        commands,
        "release",
        help="make and inspect immutable releases",
        description="A release pins every service's image by digest, the infrastructure commit"
        " and the policy pack version; it is stored once under the state directory.",
    )
    create = action(
        release_commands,
        "create",
        release.create,
        help="record a release: every service's digest, the commit and the policy pack",
        description="Record a release from one image per service, pinned by digest. The same"
        " images and commit give the same release id.",
        exits={EXIT_OK: "created, or exists already", EXIT_INVALID: "refused, nothing written"},
    )
    create.add_argument(
        "--image",
        action="append",
        metavar="SERVICE=REPO@sha256:DIGEST",
        help="one per service of the blueprint (repeat)",
    )
    _protected_option(create)
    record_options(create)
    show = action(
        release_commands,
        "show",
        release.show,
        help="print one release as JSON",
        description="Print a stored release (checked against its id) as JSON.",
        exits={EXIT_OK: "shown", EXIT_INVALID: "no such release, or its file was edited"},
    )
    show.add_argument("release", metavar="RELEASE", help="release id (r-<16 hex>)")
    record_options(show)
    listing = action(
        release_commands,
        "list",
        release.listing,
        help="every stored release, oldest first",
        description="List the stored releases, oldest first: id, time, commit, policy pack.",
        exits={EXIT_OK: "listed"},
    )
    record_options(listing)

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
    _deployer_option(promote)
    health_timeout_option(promote, "verification")
    _protected_option(promote)
    record_options(promote)

    stat = action(
        commands,
        "status",
        reading.status,
        help="which release each stage runs, what may move next",
        description="Per stage of a pipeline: the release its stack reports, its last verified"
        " release from the ledger, and the release that may move in next with the gate's verdict.",
        exits=READ_EXITS,
    )
    stat.add_argument(
        "--pipeline", metavar="NAME", help="which pipeline (default: the first in the file)"
    )
    stat.add_argument(
        "--offline",
        action="store_true",
        help="read the release from the stack files, not the stacks' outputs (no Pulumi CLI)",
    )
    _deployer_option(stat)
    record_options(stat)

    history = action(
        commands,
        "history",
        reading.history,
        help="the ledger, oldest first",
        description="Print the promotion ledger, oldest first: sequence, time, release, stage and"
        " step, status, detail. A ledger that does not verify is shown with a warning.",
        exits=READ_EXITS,
    )
    history.add_argument("--stage", metavar="STACK", help="only this stage's entries")
    shown = history.add_mutually_exclusive_group()
    shown.add_argument(
        "--limit",
        type=positive_int,
        metavar="N",
        help=f"only the last N entries (default: the last {HISTORY_SHOWN}; with --json, all)",
    )
    shown.add_argument("--all", action="store_true", help="every entry, however many")
    record_options(history)

    metric = action(
        commands,
        "metrics",
        reading.metrics,
        help="deployment frequency, lead time, change failure rate, time to restore",
        description="The four DORA keys for one stage, from the ledger and the releases' commit"
        " times, over a window of days. n/a: nothing to measure in the window.",
        exits=READ_EXITS,
    )
    metric.add_argument(
        "--pipeline",
        metavar="NAME",
        help="pipeline of the stage (default: the one holding --stage, else the first)",
    )
    metric.add_argument("--stage", metavar="STACK", help="default: the pipeline's last stage")
    metric.add_argument(
        "--days", type=at_most(36500), default=30, metavar="N", help="window in days (default 30)"
    )
    record_options(metric)

    ledger_commands = command_group(
        commands,
        "ledger",
        help="check the promotion ledger",
        description="The ledger is append-only JSON Lines, hash-chained and fsynced.",
    )
    verify = action(
        ledger_commands,
        "verify",
        ledger.verify,
        help="detect edited, removed or moved entries, and promotions their gates forbade",
        description="Check every entry's hash chain and the recorded head; with the git state,"
        " also replay each promotion's gates (approval, soak, upstream, direction, reviewed"
        " code) against the pipeline file that governed it and report each one that could not"
        " have passed (docs/promotion.md, for auditors).",
        exits={
            EXIT_OK: "the chain and head verify, and every promotion's gates hold",
            EXIT_STOPPED: "they do not",
            EXIT_INVALID: "no state to read (no such git remote, not a git checkout)",
        },
    )
    _protected_option(verify)
    record_options(verify)

    stages = action(
        commands,
        "stages",
        ci.stages,
        help="the pipelines' stages as CI reads them: targets, clouds, soak",
        description="Print every pipeline's cloud, the stage it promotes to without approval,"
        " the stages that need approval or a pull request and the soak before them, and every"
        " stack with its stage, pipeline and cloud. CI reads --json: the result event holds"
        " pipelines and stacks.",
        exits={EXIT_OK: "printed", EXIT_INVALID: "invalid pipeline file"},
    )
    record_options(stages)

    record_commands = command_group(
        commands,
        "record",
        help="the stage records in git (stages/<stack>)",
        description="Each stage's record (what it runs) is a branch stages/<stack> in git.",
    )
    pin = action(
        record_commands,
        "pin",
        ci.record_pin,
        help="pin a stage's recorded release and digests into this checkout's stack file",
        description="So a preview of this checkout shows only its own change, not the images"
        " reverting to what main's stack file pins.",
        exits={
            EXIT_OK: "pinned, or no record yet (the file stays as it is)",
            EXIT_INVALID: "the state cannot be read, or the stack file cannot be written",
        },
    )
    pin.add_argument("--stack", required=True, metavar="STACK", help="the stage's stack")
    record_options(pin)
