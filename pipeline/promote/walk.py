"""What a promotion request is and what it resolves to: the request, the walk, and the refusal
raised before anything ran. Promotion, rehearsal and status share these types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict

from pipeline.definition import Stage
from pipeline.promote.gates import FreezeOverride, Verdict
from pipeline.promote.history import Unfinished
from pipeline.promote.release import Release


class PromotionError(Exception):
    """Refused before anything ran: bad input or an ineligible release. Exit 2."""


class Governed(Protocol):
    """What governs a promotion (pipeline.record.governance): recorded in its start entry, and
    whether a release's commit is on the protected branch."""

    @property
    def where(self) -> str: ...

    def to_record(self) -> dict[str, Any]: ...

    def reviewed(self, commit: str) -> bool: ...


@dataclass(frozen=True)
class Request:
    release: str
    target: str
    pipeline: str | None = None
    rollback: bool = False
    auto: bool = False
    approver: str | None = None
    merged: bool = False
    """Deploy the reviewed merge of the target's proposal (a stage promoted by pull request)."""
    forge: tuple[str, str] | None = None
    """(proposal author, reviewer) logins from the forge's API, instead of git's identities."""
    freeze_override: FreezeOverride | None = None
    """Go ahead inside a stage's freeze window: who decided and why (recorded)."""


@dataclass
class Walk:
    """What a request resolves to: the pipeline, the release and the stages to deploy in order."""

    pipeline: str
    release: Release
    stages: list[Stage]
    approver: str | None
    verdicts: dict[str, list[Verdict]]
    resume: Unfinished | None = None
    supersede: Unfinished | None = None
    proposal: bool = False  # propose the one stage (promoted by pull request), deploy nothing
    review: Mapping[str, str] | None = None  # the verified merge that approves the stage
    rollback: bool = False  # promote --rollback: a proposal is named and recorded as one


class Header(TypedDict):
    """The fields every entry of a promotion has (pipeline.promote.entries)."""

    promotion: str
    pipeline: str
    release: str
    digests: Mapping[str, str]
    approver: str | None


def header(walk: Walk, promotion: str) -> Header:
    """The fields every entry of this promotion starts from (the promoted release)."""
    return {
        "promotion": promotion,
        "pipeline": walk.pipeline,
        "release": walk.release.id,
        "digests": walk.release.digests,
        "approver": walk.approver,
    }
