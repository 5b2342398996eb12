"""The ``notifications`` key of the pipeline file: which webhook hears about what happened."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel


class EventKind(StrEnum):
    """What a notification is about."""

    PROMOTION = "promotion"
    ROLLBACK = "rollback"
    RECONCILE = "reconcile"
    REVIEW = "review"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class Webhook(_Model):
    """An incoming webhook (Slack, Teams or anything that takes a JSON POST)."""

    url: str | None = Field(
        default=None,
        description="The webhook's URL, when it is no secret (a local relay). Otherwise urlEnv.",
    )
    url_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="The environment variable holding the webhook's URL (a CI secret): chat"
        " webhook URLs are credentials and never belong in git.",
    )
    timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="How long one attempt may take."
    )
    retries: int = Field(
        default=2, ge=0, le=5, description="Attempts after the first, on a timeout or 5xx/429."
    )
    events: tuple[EventKind, ...] = Field(
        default=tuple(EventKind), description="Which events are sent (default: every kind)."
    )

    @model_validator(mode="after")
    def _one_url(self) -> Webhook:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give exactly one of url and urlEnv")
        if self.url is not None and not _http(self.url):
            raise ValueError(f"url: expected an http(s) URL with a host, got {self.url!r}")
        return self


def _http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class Notifications(_Model):
    webhook: Webhook | None = Field(default=None, description="Where events are posted.")
