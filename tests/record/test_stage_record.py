"""The typed stage record (pipeline.promote.stage_record) keeps today's JSON key for key: what
``stage_record_of`` wrote before it, a record read and written again has the same bytes, and a
record that is not one says where and which key."""

from __future__ import annotations

import json

import pytest

from pipeline.promote.stage_record import EntryRef, StageChange, StageRecord, StageRecordError
from pipeline.promote.state import dump

IMAGES = {"web": "registry/web@sha256:" + "b" * 64, "api": "registry/api@sha256:" + "a" * 64}
ENTRY = {"seq": 7, "hash": "c" * 64, "stage": "test", "step": "up", "status": "completed"}
AFTER = EntryRef(ENTRY["seq"], ENTRY["hash"])  # where the record follows ENTRY in the ledger

# What pipeline.promote.state.stage_record_of wrote before the record was typed (at 43266e0),
# for a change approved by pull request: sorted keys, images and digests sorted by service.
WRITTEN_BEFORE = """{
  "after": {
    "hash": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
    "seq": 7
  },
  "approver": null,
  "commit": "0123456789abcdef0123456789abcdef01234567",
  "digests": {
    "api": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "web": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  },
  "images": {
    "api": "registry/api@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "web": "registry/web@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
  },
  "kind": "forward",
  "pipeline": "main",
  "promotion": "p-20261206T120000-abcdef",
  "release": "r-1",
  "review": {
    "identities": "git",
    "merge": "m",
    "proposal": "p",
    "proposer": "Ann <ann@example.com>",
    "reviewer": "Bob <bob@example.com>"
  },
  "stack": "test"
}
"""


def change(**overrides: object) -> StageChange:
    fields: dict[str, object] = {
        "stack": "test",
        "pipeline": "main",
        "release": "r-1",
        "images": IMAGES,
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "promotion": "p-20261206T120000-abcdef",
        "kind": "forward",
        "approver": None,
        "review": {
            "proposal": "p",
            "merge": "m",
            "proposer": "Ann <ann@example.com>",
            "reviewer": "Bob <bob@example.com>",
            "identities": "git",
        },
    }
    return StageChange(**{**fields, **overrides})  # type: ignore[arg-type]


def test_a_new_record_is_written_as_before():
    record = StageRecord.of(change(), AFTER)
    assert dump(record.to_json()) == WRITTEN_BEFORE
    assert record.after == EntryRef(7, "c" * 64)
    assert list(record.images) == ["api", "web"]


@pytest.mark.parametrize(
    "overrides, after",
    [
        ({}, AFTER),
        ({"review": None, "approver": "carol", "commit": None}, AFTER),
        ({"review": None, "kind": "rollback"}, None),
    ],
)
def test_a_record_read_and_written_again_has_the_same_bytes(overrides, after):
    written = dump(StageRecord.of(change(**overrides), after).to_json())
    read = StageRecord.from_json(json.loads(written), "stages/test.json")
    assert dump(read.to_json()) == written
    assert read == StageRecord.of(change(**overrides), after)


def test_the_git_fields_and_a_proposal_round_trip():
    stored = json.loads(WRITTEN_BEFORE) | {"proposal": {"proposer": "Ann", "base": "f" * 40}}
    record = StageRecord.from_json(stored, "stacks/test.record.json")
    assert record.proposal == {"proposer": "Ann", "base": "f" * 40}
    assert record.to_json() == stored
    shown = StageRecord(**{**vars(record), "ref": "stages/test", "record_commit": "e" * 40})
    assert shown.to_json() == stored | {"ref": "stages/test", "recordCommit": "e" * 40}
    assert "pendingMerge" not in shown.to_json() and shown.pending_merge is None
    assert shown.release == "r-1" and shown.approver is None


@pytest.mark.parametrize(
    "broken, message",
    [
        ([], "stages/test.json: not a stage record"),
        ({"release": "r-1"}, "stages/test.json: 'stack' must be str"),
        ({"after": {"seq": "7"}}, "stages/test.json: after: 'seq' must be int"),
        ({"images": {"web": 1}}, "stages/test.json: 'images' must map names to strings"),
    ],
)
def test_a_record_that_is_not_one_names_the_file_and_the_key(broken, message):
    stored = broken if isinstance(broken, list) else json.loads(WRITTEN_BEFORE) | broken
    if isinstance(broken, dict) and "release" in broken:
        del stored["stack"]
    with pytest.raises(StageRecordError) as raised:
        StageRecord.from_json(stored, "stages/test.json")
    assert str(raised.value).startswith(message), raised.value
