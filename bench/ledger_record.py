"""Synthetic records for bench/ledger.py: a bare remote whose main is this checkout's HEAD and
whose ``stageline/state`` holds a ledger of a given length in the entry layout.

All but the last promotion go through ``git fast-import`` (one stream, one pack), written as the
code would write them: per promotion a release, a lock, 46 entries of about 500 bytes with their
trailers (the start, eleven per stage, the finish), each full block sealed by its own commit, and
an unlock. The older entries' record fields name commits that are not in the repository (nothing
reads them). The last promotion goes through the real ``GitState.append``, with real stage
records on ``stages/*``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.promote.ledger import chain_entry, entry_line
from pipeline.promote.release import Release, content_id, release_json
from pipeline.promote.state import StageChange
from pipeline.record.audit import ENTRY_TRAILER
from pipeline.record.layout import BLOCK, SEAL_TRAILER, entry_path, seal_changes
from pipeline.record.state import STATE_REF, GitState

PROJECT_DIR = Path(__file__).resolve().parent.parent
STAGES = ("dev", "test", "staging", "live")
STEPS = ("set-images", "copy-images", "preview", "up", "verify")


def run_git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def promotion(index: int, commit: str) -> tuple[Release, list[tuple[dict[str, Any], str | None]]]:
    """Promotion ``index`` of one release through the four stages: its release and its
    entries' fields, each with the stage whose record it carries (up completed) or None."""
    digest = hashlib.sha256(f"release {index}".encode()).hexdigest()
    images = {s: f"registry.example.com/shop/{s}@sha256:{digest}" for s in ("api", "web")}
    when = f"2026-01-01T00:00:00+00:00#{index}"
    release = Release(content_id(images, commit, when, False, "1"), images, commit, when, False,
                      "1", when)  # fmt: skip
    common = {"promotion": f"p-{index:06d}-{digest[:6]}", "pipeline": "aws", "release": release.id}
    steps: list[tuple[dict[str, Any], str | None]] = [
        ({**common, "step": "start", "target": "live", "digests": release.digests}, None)
    ]
    for stage in STAGES:
        for step in STEPS:
            for status in ("started", "completed"):
                detail = f"{step} {status} in {stage}: api and web at sha256:{digest[:40]}"
                fields = {**common, "stage": stage, "kind": "forward", "step": step}
                fields |= {"status": status, "detail": detail}
                steps.append((fields, stage if (step, status) == ("up", "completed") else None))
        gate = {**common, "stage": stage, "kind": "forward", "step": "gate"}
        steps.append((gate | {"status": "completed", "detail": "soak and approval"}, None))
    steps.append(({**common, "step": "finish", "outcome": "promoted"}, None))
    return release, steps


def _data(content: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(content), content)


def _commit(message: str, files: dict[str, bytes | None], when: int) -> bytes:
    out = b"commit " + STATE_REF.encode() + b"\n"
    out += b"committer stageline <stageline@localhost> %d +0000\n" % when
    out += _data(message.encode())
    for path, content in files.items():
        if content is None:
            out += f"D {path}\n".encode()
        else:
            out += f"M 100644 inline {path}\n".encode() + _data(content)
    return out + b"\n"


def stream(entries: int, commit: str) -> Iterator[bytes]:
    """A fast-import stream of whole promotions holding at most ``entries`` entries."""
    last: dict[str, Any] | None = None
    block: list[bytes] = []
    seq, index, when = 0, 0, 1_767_225_600
    while seq < entries:
        release, steps = promotion(index, commit)
        if seq + len(steps) > entries:  # the last one stops early to make the count exact
            steps = [*steps[: entries - seq - 1], steps[-1]]
        when += 1
        yield _commit(f"stageline: {release.id}\n", {
            f"releases/{release.id}.json": release_json(release).encode()
        }, when)  # fmt: skip
        lock = json.dumps({"host": "ci", "pid": index, "token": str(index)}).encode()
        yield _commit("stageline: lock aws\n", {"locks/aws.json": lock}, when)
        for fields, stage in steps:
            if stage is not None:  # a record commit that is not in this repository
                fields = {**fields, "record": hashlib.sha1(str(seq).encode()).hexdigest()}
            entry = chain_entry(fields, last)
            message = f"stageline: {fields['step']}\n\n{ENTRY_TRAILER}: {seq} {entry['hash']}\n"
            yield _commit(message, {entry_path(seq): entry_line(entry)}, when)
            block.append(entry_line(entry))
            last, seq = entry, seq + 1
            if seq % BLOCK == 0:  # sealed by the commit after the one that fills the block
                number = seq // BLOCK - 1
                message = f"stageline: seal\n\n{SEAL_TRAILER}: {number}\n"
                yield _commit(message, seal_changes(number, block), when)
                block = []
        yield _commit("stageline: unlock aws\n", {"locks/aws.json": None}, when)
        index += 1


def build(base: Path, entries: int) -> tuple[Path, int]:
    """The remote of a record of ``entries`` entries; returns it and its entry count."""
    remote = base / "remote.git"
    run_git(base, "init", "-q", "--bare", "-b", "main", str(remote))
    run_git(PROJECT_DIR, "push", "-q", str(remote), "HEAD:refs/heads/main")
    commit = run_git(remote, "rev-parse", "main")
    _, real = promotion(0, commit)
    with tempfile.TemporaryFile() as spool:
        for chunk in stream(entries - len(real), commit):
            spool.write(chunk)
        spool.seek(0)
        subprocess.run(["git", "-C", str(remote), "fast-import", "--quiet"], stdin=spool,
                       check=True)  # fmt: skip
    writer = base / "writer"
    run_git(base, "clone", "-q", str(remote), str(writer))
    state = GitState(writer)
    release, steps = promotion(10**6, commit)
    state.save_release(release)
    for fields, stage in steps:
        change = None
        if stage is not None:
            change = StageChange(stage, "aws", release.id, release.images, commit,
                                 fields["promotion"], "forward", "bench")  # fmt: skip
        state.append(fields, change)
    return remote, state.head()[0]
