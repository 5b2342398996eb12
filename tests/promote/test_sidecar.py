"""A torn metadata sidecar of a file backend's checkpoint is removed; a torn checkpoint is not."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pipeline.promote.sidecar import CheckpointDamagedError, backend_root, repair_sidecars

CHECKPOINT = {"version": 3, "checkpoint": {"latest": {"resources": []}}}
SIDECAR = {"user.cache_control": "", "user.content_type": "application/octet-stream"}


def _backend(tmp_path: Path, *, checkpoint: bytes, sidecar: bytes, name: str = "dev.json") -> Path:
    folder = tmp_path / ".pulumi" / "stacks" / "proj"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(checkpoint)
    (folder / f"{name}.attrs").write_bytes(sidecar)
    return folder


def test_an_empty_sidecar_of_an_intact_checkpoint_is_removed_with_a_note(tmp_path: Path) -> None:
    folder = _backend(tmp_path, checkpoint=json.dumps(CHECKPOINT).encode(), sidecar=b"")
    notes = repair_sidecars(tmp_path, "proj", "dev")
    assert not (folder / "dev.json.attrs").exists()
    assert (folder / "dev.json").read_bytes() == json.dumps(CHECKPOINT).encode()
    assert len(notes) == 1 and "dev.json.attrs" in notes[0], notes
    assert repair_sidecars(tmp_path, "proj", "dev") == []  # nothing torn is left


def test_a_half_written_sidecar_counts_as_torn(tmp_path: Path) -> None:
    folder = _backend(tmp_path, checkpoint=json.dumps(CHECKPOINT).encode(), sidecar=b'{"user.')
    assert len(repair_sidecars(tmp_path, "proj", "dev")) == 1
    assert not (folder / "dev.json.attrs").exists()


def test_an_intact_sidecar_and_other_stacks_are_left_alone(tmp_path: Path) -> None:
    folder = _backend(
        tmp_path, checkpoint=json.dumps(CHECKPOINT).encode(), sidecar=json.dumps(SIDECAR).encode()
    )
    (folder / "test.json").write_text("{}")
    (folder / "test.json.attrs").write_bytes(b"")
    assert repair_sidecars(tmp_path, "proj", "dev") == []
    assert (folder / "dev.json.attrs").read_bytes() == json.dumps(SIDECAR).encode()
    assert (folder / "test.json.attrs").exists()  # another stack's: not this repair's business


def test_a_gzipped_checkpoint_is_read_through_its_compression(tmp_path: Path) -> None:
    raw = gzip.compress(json.dumps(CHECKPOINT).encode())
    folder = _backend(tmp_path, checkpoint=raw, sidecar=b"", name="dev.json.gz")
    assert len(repair_sidecars(tmp_path, "proj", "dev")) == 1
    assert not (folder / "dev.json.gz.attrs").exists()


def test_a_checkpoint_that_does_not_parse_is_refused_and_nothing_removed(tmp_path: Path) -> None:
    folder = _backend(tmp_path, checkpoint=b'{"version": 3, "check', sidecar=b"")
    with pytest.raises(CheckpointDamagedError, match=r"dev\.json: the checkpoint does not parse"):
        repair_sidecars(tmp_path, "proj", "dev")
    assert (folder / "dev.json.attrs").exists()


def test_a_torn_lock_sidecar_is_removed(tmp_path: Path) -> None:
    locks = tmp_path / ".pulumi" / "locks" / "organization" / "proj" / "dev"
    locks.mkdir(parents=True)
    (locks / "abc.json").write_text('{"pid": 1}')
    (locks / "abc.json.attrs").write_bytes(b"")
    assert len(repair_sidecars(tmp_path, "proj", "dev")) == 1
    assert not (locks / "abc.json.attrs").exists()


def test_only_a_file_backend_has_a_directory() -> None:
    assert backend_root("file:///tmp/state%20dir?no_tmp_dir=true") == Path("/tmp/state dir")
    assert backend_root("s3://bucket/prefix") is None
    assert backend_root("https://api.pulumi.com") is None
