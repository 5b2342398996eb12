"""What a stage runs, as a record: the change an update makes (``StageChange``) and the record
kept after it (``StageRecord``): ``stages/<stack>.json`` in a directory state,
``stacks/<stack>.record.json`` on ``stages/<stack>`` in the git state (pipeline.record.stage).

``StageRecord.to_json()`` is the record as written and as ``status --json`` shows it, key for
key: a record read and written again has the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class StageRecordError(ValueError):
    """A stored stage record is not one (the message names where and the key)."""


@dataclass(frozen=True)
class StageChange:
    """What a stage runs after an update: recorded with the ``up completed`` entry."""

    stack: str
    pipeline: str
    release: str
    images: Mapping[str, str]
    commit: str | None  # the release's infrastructure commit (None: not a stored release)
    promotion: str
    kind: str
    approver: str | None
    review: Mapping[str, str] | None = None
    """For a stage promoted by pull request: the verified merge (pipeline.record.proposal)."""


@dataclass(frozen=True)
class EntryRef:
    """The ledger entry a record follows (``after``)."""

    seq: int
    hash: str


@dataclass(frozen=True)
class StageRecord:
    """What ``stack`` runs and which ledger entry recorded it (``to_json`` is its stored
    form)."""

    stack: str
    pipeline: str
    release: str
    images: Mapping[str, str]
    digests: Mapping[str, str]
    commit: str | None  # the infrastructure commit the stage is built from
    promotion: str
    kind: str
    approver: str | None
    after: EntryRef | None
    review: Mapping[str, str] | None = None  # a merge of a pull request: who proposed, merged
    proposal: Mapping[str, str] | None = None  # a proposal's record: who proposed, onto what
    # Where the git state keeps it (None in a directory state):
    ref: str | None = None  # the stage branch, ``stages/<stack>``
    record_commit: str | None = None  # the commit of that branch holding this record
    pending_merge: str | None = None  # the branch's tip: a merged proposal not deployed yet

    @classmethod
    def of(cls, stage: StageChange, after: EntryRef | None) -> StageRecord:
        """The record of what ``stage.stack`` runs; ``after`` is the ledger entry it follows."""
        images = dict(sorted(stage.images.items()))
        return cls(
            stack=stage.stack,
            pipeline=stage.pipeline,
            release=stage.release,
            images=images,
            digests={s: i.rsplit("@", 1)[-1] for s, i in images.items()},
            commit=stage.commit,
            promotion=stage.promotion,
            kind=stage.kind,
            approver=stage.approver,
            after=after,
            review=dict(stage.review) if stage.review else None,
        )

    @classmethod
    def from_json(cls, raw: object, where: str) -> StageRecord:
        """A record as stored; ``where`` names the file in errors. Keys it does not know are
        not kept."""
        if not isinstance(raw, dict):
            raise StageRecordError(f"{where}: not a stage record (a JSON object)")
        after = raw.get("after")
        if after is not None:
            at, found = f"{where}: after", _field(raw, "after", dict, where)
            after = EntryRef(_field(found, "seq", int, at), _text(found, "hash", at))
        return cls(
            stack=_text(raw, "stack", where),
            pipeline=_text(raw, "pipeline", where),
            release=_text(raw, "release", where),
            images=_strings(raw, "images", where) or {},
            digests=_strings(raw, "digests", where) or {},
            commit=_optional(raw, "commit", where),
            promotion=_text(raw, "promotion", where),
            kind=_text(raw, "kind", where),
            approver=_optional(raw, "approver", where),
            after=after,
            review=_strings(raw, "review", where),
            proposal=_strings(raw, "proposal", where),
        )

    def to_json(self) -> dict[str, Any]:
        """The record as stored (``ref``, ``recordCommit``, ``pendingMerge``: as read)."""
        found: dict[str, Any] = {
            "stack": self.stack,
            "pipeline": self.pipeline,
            "release": self.release,
            "images": dict(self.images),
            "digests": dict(self.digests),
            "commit": self.commit,
            "promotion": self.promotion,
            "kind": self.kind,
            "approver": self.approver,
            "after": None if self.after is None else vars(self.after).copy(),
        }
        optional = {
            "review": None if self.review is None else dict(self.review),
            "proposal": None if self.proposal is None else dict(self.proposal),
            "ref": self.ref,
            "recordCommit": self.record_commit,
            "pendingMerge": self.pending_merge,
        }
        return found | {k: v for k, v in optional.items() if v is not None}


def _field(raw: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = raw.get(key)
    if not isinstance(value, kind):
        raise StageRecordError(f"{where}: {key!r} must be {kind.__name__}, not {value!r}")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    return str(_field(raw, key, str, where))


def _optional(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if raw.get(key) is None else _text(raw, key, where)


def _strings(raw: Mapping[str, Any], key: str, where: str) -> dict[str, str] | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise StageRecordError(f"{where}: {key!r} must map names to strings")
    return dict(value)
