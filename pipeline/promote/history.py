"""Questions asked of the ledger: what was verified where and when, what is unfinished.

Entry vocabulary (every entry also has seq, prev, hash, time):
``promotion`` (``promotion`` id, ``pipeline``, ``release``, ``digests``) with ``step`` one of
``start`` | ``resume`` | ``finish`` (with ``outcome``), and per stage ``step`` one of
``set-images`` | ``copy-images`` | ``preview`` | ``gate`` | ``up`` | ``verify`` with ``status``
``started`` | ``completed`` | ``failed`` and ``kind`` ``forward`` | ``rollback``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STEPS = ("set-images", "copy-images", "preview", "gate", "up", "verify")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class Unfinished:
    """A promotion whose process stopped before its ``finish`` entry."""

    promotion: str
    pipeline: str
    release: str
    target: str
    rollback: bool
    entries: list[dict[str, Any]]

    def completed(self, stage: str, kind: str) -> set[str]:
        return {
            e["step"]
            for e in self.entries
            if e.get("stage") == stage and e.get("kind") == kind and e.get("status") == "completed"
        }

    def interrupted(self) -> dict[str, Any] | None:
        """The last step that started and has neither completed nor failed, if any."""
        open_steps: dict[tuple[str, str, str], dict[str, Any]] = {}
        for entry in self.entries:
            if entry.get("step") not in STEPS:
                continue
            key = (entry["stage"], entry["kind"], entry["step"])
            if entry.get("status") == "started":
                open_steps[key] = entry
            else:
                open_steps.pop(key, None)
        if not open_steps:
            return None
        last: dict[str, Any] = list(open_steps.values())[-1]
        return last


class LedgerView:
    """Read-only queries over ledger entries (already verified by the caller)."""

    def __init__(self, entries: Iterable[dict[str, Any]]) -> None:
        self.entries = list(entries)

    def verifications(self, stage: str) -> list[dict[str, Any]]:
        return [
            e
            for e in self.entries
            if e.get("stage") == stage
            and e.get("step") == "verify"
            and e.get("status") in ("completed", "failed")
        ]

    def verified_at(self, stage: str, release: str) -> datetime | None:
        """When ``release`` last passed verification in ``stage``; None if never or if its
        latest verification there failed."""
        mine = [e for e in self.verifications(stage) if e.get("release") == release]
        if not mine or mine[-1]["status"] != "completed":
            return None
        return parse_time(mine[-1]["time"])

    def ever_verified(self, stage: str, release: str) -> bool:
        return any(
            e["status"] == "completed" and e.get("release") == release
            for e in self.verifications(stage)
        )

    def last_verified(self, stage: str, other_than: str | None = None) -> dict[str, Any] | None:
        """The newest passed verification in ``stage`` (optionally of another release)."""
        passed: list[dict[str, Any]] = [
            e
            for e in self.verifications(stage)
            if e["status"] == "completed" and e.get("release") != other_than
        ]
        return passed[-1] if passed else None

    def unfinished(self, pipeline: str) -> Unfinished | None:
        started: dict[str, dict[str, Any]] = {}
        for entry in self.entries:
            if entry.get("step") == "start" and entry.get("pipeline") == pipeline:
                started[entry["promotion"]] = entry
            elif entry.get("step") == "finish":
                started.pop(entry.get("promotion", ""), None)
        if not started:
            return None
        start = list(started.values())[-1]
        mine = [e for e in self.entries if e.get("promotion") == start["promotion"]]
        return Unfinished(
            start["promotion"],
            pipeline,
            start["release"],
            start["target"],
            bool(start.get("rollback")),
            mine,
        )


class Decisive:
    """The entries a LedgerView's questions read: every finished verification and every entry
    of a promotion that has not finished. A LedgerView over ``entries()`` answers
    ``verified_at``, ``ever_verified``, ``last_verified`` and ``unfinished`` exactly as one over
    the whole ledger (promotion ids are unique), so the gates and ``status`` need not read every
    entry: a reader keeps this up to date entry by entry (``add``)."""

    def __init__(self, entries: Iterable[dict[str, Any]] = ()) -> None:
        self.verifications: list[dict[str, Any]] = []
        self.open: dict[str, list[dict[str, Any]]] = {}  # promotion -> its entries so far
        for entry in entries:
            self.add(entry)

    def add(self, entry: dict[str, Any]) -> None:
        step, promotion = entry.get("step"), entry.get("promotion")
        if step == "verify" and entry.get("status") in ("completed", "failed"):
            self.verifications.append(entry)
        if step == "start" and promotion is not None:
            self.open.setdefault(str(promotion), []).append(entry)
        elif step == "finish":
            self.open.pop(str(promotion), None)
        elif promotion is not None and str(promotion) in self.open:
            self.open[str(promotion)].append(entry)

    def entries(self) -> list[dict[str, Any]]:
        """The kept entries in ledger order (each once)."""
        kept = {e["seq"]: e for e in self.verifications}
        kept.update((e["seq"], e) for entries in self.open.values() for e in entries)
        return [kept[seq] for seq in sorted(kept)]
