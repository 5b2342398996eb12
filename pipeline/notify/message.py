"""What a notification says, as one JSON body that Slack and Teams incoming webhooks both take.

Slack's incoming webhooks read ``text`` (mrkdwn) and ignore fields they do not know; Teams'
Office 365 connector webhooks read the legacy MessageCard (``@type``/``@context``, ``summary``,
``title``, ``themeColor``, ``sections[].facts[]`` of ``name``/``value``). Both field sets are
documented by the vendors (Slack: "Sending messages using incoming webhooks"; Microsoft:
"Legacy actionable message card reference"). ``event`` carries the same facts for a machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.notify.config import EventKind

GOOD, BAD, NEUTRAL = "2EB67D", "E01E5A", "6B7280"
_BAD_OUTCOMES = frozenset(
    {"stopped", "failed", "rollback failed", "heal failed", "busy", "verification failed"}
)


@dataclass(frozen=True)
class Notice:
    """One event worth telling people about."""

    kind: EventKind
    title: str
    text: str
    outcome: str
    facts: Mapping[str, str] = field(default_factory=dict)

    def color(self) -> str:
        if self.outcome in _BAD_OUTCOMES:
            return BAD
        return GOOD if self.outcome in ("promoted", "healed", "in sync", "up") else NEUTRAL


def payload(notice: Notice) -> dict[str, Any]:
    """The webhook's JSON body (see the module docstring for which field serves whom)."""
    facts = [{"name": k, "value": v} for k, v in notice.facts.items()]
    lines = [f"*{notice.title}*", notice.text] + [f"{k}: {v}" for k, v in notice.facts.items()]
    return {
        "text": "\n".join(line for line in lines if line),
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": notice.title,
        "title": notice.title,
        "themeColor": notice.color(),
        "sections": [{"text": notice.text, "facts": facts}],
        "event": {
            "kind": str(notice.kind),
            "outcome": notice.outcome,
            "title": notice.title,
            "text": notice.text,
            "facts": dict(notice.facts),
        },
    }
