"""The argparse definitions of ``release``, ``promote``, ``status``, ``history``,
``metrics``, ``ledger``, ``stages`` and ``record``: options, help and exit codes; each
command's handler lives in its family's module (``promote``'s options: promote_parsing)."""

from __future__ import annotations

from typing import Any

from pipeline.arguments import (
    action,
    at_most,
    command_group,
    positive_int,
    record_options,
)
from pipeline.promote.commands import ci, ledger, reading, release
from pipeline.promote.commands.promote_parsing import (
    PROMOTE_EXITS,
    deployer_option,
    protected_option,
    register_promote,
)
from pipeline.promote.commands.reading import HISTORY_SHOWN
from pipeline.promote.model import EXIT_INVALID, EXIT_OK, EXIT_STOPPED

__all__ = ["PROMOTE_EXITS", "READ_EXITS", "register"]


READ_EXITS = {
    EXIT_OK: "shown",
    EXIT_INVALID: "bad input (unknown pipeline or stage, a missing Pulumi CLI), or a record that"
    " does not verify",
}
# history still answers over a record that does not verify: it says so and shows no entry.
HISTORY_EXITS = {
    EXIT_OK: "shown (a record that does not verify: a warning and no entries)",
    EXIT_INVALID: "bad input (unknown pipeline or stage)",
}


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
    protected_option(create)
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

    register_promote(commands)

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
    deployer_option(stat)
    record_options(stat)

    history = action(
        commands,
        "history",
        reading.history,
        help="the ledger, oldest first",
        description="Print the promotion ledger, oldest first: sequence, time, release, stage and"
        " step, status, detail. A ledger that does not verify is shown with a warning.",
        exits=HISTORY_EXITS,
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
    protected_option(verify)
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
