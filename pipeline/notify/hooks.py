"""Where the commands tell the webhook: one call per finished promotion, reconcile or review."""

from __future__ import annotations

import sys
from typing import Any

from pipeline.notify.config import EventKind, Notifications
from pipeline.notify.message import Notice
from pipeline.notify.webhook import Notifier

SILENT_OUTCOMES = frozenset({"nothing to do", "refused"})
"""Promotion outcomes nobody needs to hear about: nothing ran, nothing changed."""


def notifier(notifications: Notifications | None, as_json: bool) -> Notifier:
    """A notifier for the pipeline file's webhook that reports its one failure as a note (a
    ``note`` event with --json, else a line on stderr)."""

    def report(message: str) -> None:
        if as_json:
            from pipeline import contract

            contract.event("note", message=message)
        else:
            print(f"note: {message}", file=sys.stderr)

    return Notifier(notifications.webhook if notifications else None, report)


def promotion_notice(request: Any, outcome: Any) -> Notice | None:
    """The notice of a promotion's ``Outcome`` (None: nothing happened worth saying)."""
    if outcome.outcome in SILENT_OUTCOMES:
        return None
    rolled = request.rollback or outcome.outcome in ("rolled back", "rollback failed")
    kind = EventKind.ROLLBACK if rolled else EventKind.PROMOTION
    verb = "rollback" if request.rollback else "promotion"
    facts = {"release": str(request.release), "target": str(request.target)}
    facts |= {stage: str(result) for stage, result in outcome.stages.items()}
    return Notice(
        kind,
        f"{verb} of {request.release} to {request.target}: {outcome.outcome}",
        str(outcome.message).splitlines()[0] if outcome.message else "",
        str(outcome.outcome),
        facts,
    )


def announce_promotion(definition: Any, request: Any, outcome: Any, as_json: bool) -> None:
    """Tell the webhook how a promotion ended; never raises, never changes the outcome."""
    notice = promotion_notice(request, outcome)
    if notice is not None:
        notifier(getattr(definition, "notifications", None), as_json).send(notice)
