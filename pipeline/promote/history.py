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
    """Read-only queries over ledger entries (already verified by the caller).

    Indexed as entries arrive (``add``), so each question costs about the same at any ledger
    length: ``ledger verify`` replays every promotion's gates against the view before it,
    growing one view entry by entry rather than building one per promotion."""

    def __init__(self, entries: Iterable[dict[str, Any]] = ()) -> None:
        self.entries: list[dict[str, Any]] = []
        self._verifications: dict[str, list[dict[str, Any]]] = {}  # stage -> finished ones
        self._latest: dict[tuple[str, str], dict[str, Any]] = {}  # (stage, release) -> last
        self._ever: set[tuple[str, str]] = set()  # (stage, release) passed at least once
        self._passed: dict[str, list[dict[str, Any]]] = {}  # stage -> passed verifications
        self._started: dict[str, dict[str, Any]] = {}  # promotion -> start, while unfinished
        self._of: dict[str, list[dict[str, Any]]] = {}  # promotion -> its entries
        for entry in entries:
            self.add(entry)

    def add(self, entry: dict[str, Any]) -> None:
        """Take the next entry in ledger order."""
        self.entries.append(entry)
        step, promotion = entry.get("step"), entry.get("promotion")
        if promotion is not None:
            self._of.setdefault(str(promotion), []).append(entry)
        if step == "start":
            self._started[str(promotion)] = entry
        elif step == "finish":
            self._started.pop(str(promotion or ""), None)
        elif step == "verify" and entry.get("status") in ("completed", "failed"):
            stage, release = str(entry.get("stage")), str(entry.get("release"))
            self._verifications.setdefault(stage, []).append(entry)
            self._latest[(stage, release)] = entry
            if entry["status"] == "completed":
                self._ever.add((stage, release))
                self._passed.setdefault(stage, []).append(entry)

    def verifications(self, stage: str) -> list[dict[str, Any]]:
        return list(self._verifications.get(stage, []))

    def verified_at(self, stage: str, release: str) -> datetime | None:
        """When ``release`` last passed verification in ``stage``; None if never or if its
        latest verification there failed."""
        latest = self._latest.get((stage, release))
        if latest is None or latest["status"] != "completed":
            return None
        return parse_time(latest["time"])

    def ever_verified(self, stage: str, release: str) -> bool:
        return (stage, release) in self._ever

    def last_verified(self, stage: str, other_than: str | None = None) -> dict[str, Any] | None:
        """The newest passed verification in ``stage`` (optionally of another release)."""
        passed = self._passed.get(stage, [])
        for index in range(len(passed) - 1, -1, -1):  # newest first, without copying
            if passed[index].get("release") != other_than:
                return passed[index]
        return None

    def unfinished(self, pipeline: str) -> Unfinished | None:
        mine = [s for s in self._started.values() if s.get("pipeline") == pipeline]
        if not mine:
            return None
        start = mine[-1]
        return Unfinished(
            start["promotion"],
            pipeline,
            start["release"],
            start["target"],
            bool(start.get("rollback")),
            list(self._of[str(start["promotion"])]),
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
