"""Synthetic records for bench/ledger.py: a bare remote whose main is this checkout's HEAD and
whose ``stageline/state`` holds a ledger of a given length in the entry layout.

All but the last release go through ``git fast-import`` (one stream, one pack), written as the
code would write them: per release two promotions that the ``aws`` pipeline's gates allow (to
staging, then to live with an approver after the soak, since ``ledger verify`` replays the
gates), each a lock, entries of about 500 bytes with their trailers (the start, eleven per stage,
the finish), each full block sealed by its own commit, and an unlock. The older entries' record
fields name commits that are not in the repository (nothing reads them). The last release goes
through the real ``GitState.append``, with real stage records on ``stages/*``.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.naming import tool_identity
from pipeline.promote.entries import read_entry
from pipeline.promote.ledger import chain_entry, entry_line
from pipeline.promote.release import Release, content_id, release_json
from pipeline.promote.state import StageChange
from pipeline.record.audit import ENTRY_TRAILER
from pipeline.record.governance import PIPELINE_PATH
from pipeline.record.layout import BLOCK, SEAL_TRAILER, entry_path, seal_changes
from pipeline.record.refs import COMMIT_PREFIX
from pipeline.record.state import STATE_REF, GitState

PROJECT_DIR = Path(__file__).resolve().parent.parent
STAGES = ("dev", "test", "staging", "live")
STEPS = ("set-images", "copy-images", "preview", "up", "verify")
# Releases are three hours apart from here: 50,000 entries end about 130 days later, in the past.
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def run_git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, check=True
    )
    return done.stdout.decode().strip()


def _at(index: int, minutes: float) -> str:
    """A time ``minutes`` into slot ``index``: one slot of three hours per release."""
    when = EPOCH + timedelta(hours=3 * index, minutes=minutes)
    return when.isoformat(timespec="milliseconds")


Steps = list[tuple[dict[str, Any], str | None]]


def promotions(index: int, commit: str, governance: dict[str, Any]) -> tuple[Release, list[Steps]]:
    """Release ``index`` and the two promotions that take it through the four stages as the
    ``aws`` pipeline's gates allow (so ``ledger verify``'s gate audit passes them): to staging,
    then to live with an approver once staging's hour of soak is over. Each step is its entry's
    fields with the stage whose record it carries (up completed) or None."""
    digest = hashlib.sha256(f"release {index}".encode()).hexdigest()
    images = {s: f"registry.example.com/shop/{s}@sha256:{digest}" for s in ("api", "web")}
    created = _at(index, 0)
    release = Release(content_id(images, commit, created, False, "1"), images, commit, created,
                      False, "1", created)  # fmt: skip
    walks: list[Steps] = []
    for target, stages, began in (("staging", STAGES[:3], 1.0), ("live", STAGES[3:], 65.0)):
        clock = iter(range(10_000))
        common = {"pipeline": "aws", "release": release.id}
        common["promotion"] = f"p-{index:06d}-{target[0]}{digest[:5]}"
        start = {**common, "step": "start", "target": target, "digests": release.digests}
        start |= {"governance": governance, "time": _at(index, began)}
        if target == "live":
            start["approver"] = "bench"
        steps: Steps = [(start, None)]
        next(clock)
        for stage in stages:
            for step in STEPS:
                for status in ("started", "completed"):
                    detail = f"{step} {status} in {stage}: api and web at sha256:{digest[:40]}"
                    fields = {**common, "stage": stage, "kind": "forward", "step": step}
                    fields |= {"status": status, "detail": detail}
                    fields["time"] = _at(index, began + next(clock) / 60)
                    steps.append((fields, stage if (step, status) == ("up", "completed") else None))
            gate = {**common, "stage": stage, "kind": "forward", "step": "gate"}
            gate |= {"status": "completed", "detail": "soak and approval"}
            steps.append((gate | {"time": _at(index, began + next(clock) / 60)}, None))
        finish = {**common, "step": "finish", "outcome": "promoted"}
        steps.append((finish | {"time": _at(index, began + next(clock) / 60)}, None))
        walks.append(steps)
    return release, walks


def _data(content: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(content), content)


def _commit(message: str, files: dict[str, bytes | None], when: int) -> bytes:
    out = b"commit " + STATE_REF.encode() + b"\n"
    out += b"committer %s <%s> %d +0000\n" % (*(s.encode() for s in tool_identity()), when)
    out += _data(message.encode())
    for path, content in files.items():
        if content is None:
            out += f"D {path}\n".encode()
        else:
            out += f"M 100644 inline {path}\n".encode() + _data(content)
    return out + b"\n"


def stream(entries: int, commit: str, governance: dict[str, Any]) -> Iterator[bytes]:
    """A fast-import stream of whole promotions holding exactly ``entries`` entries (the last
    one cut short, as a crash would leave it, but with its finish)."""
    last: dict[str, Any] | None = None
    block: list[bytes] = []
    seq, index, when = 0, 0, 1_735_689_600
    while seq < entries:
        release, walks = promotions(index, commit, governance)
        when += 1
        yield _commit(f"{COMMIT_PREFIX}{release.id}\n", {
            f"releases/{release.id}.json": release_json(release).encode()
        }, when)  # fmt: skip
        for steps in walks:
            if seq >= entries:
                break
            if seq + len(steps) > entries:
                steps = [*steps[: entries - seq - 1], steps[-1]]
            lock = json.dumps({"host": "ci", "pid": index, "token": str(index)}).encode()
            yield _commit(f"{COMMIT_PREFIX}lock aws\n", {"locks/aws.json": lock}, when)
            for fields, stage in steps:
                if stage is not None:  # a record commit that is not in this repository
                    fields = {**fields, "record": hashlib.sha1(str(seq).encode()).hexdigest()}
                entry = chain_entry(fields, last)
                trailer = f"{ENTRY_TRAILER}: {seq} {entry['hash']}"
                message = f"{COMMIT_PREFIX}{fields['step']}\n\n{trailer}\n"
                yield _commit(message, {entry_path(seq): entry_line(entry)}, when)
                block.append(entry_line(entry))
                last, seq = entry, seq + 1
                if seq % BLOCK == 0:  # sealed by the commit after the one that fills the block
                    number = seq // BLOCK - 1
                    message = f"{COMMIT_PREFIX}seal\n\n{SEAL_TRAILER}: {number}\n"
                    yield _commit(message, seal_changes(number, block), when)
                    block = []
            yield _commit(f"{COMMIT_PREFIX}unlock aws\n", {"locks/aws.json": None}, when)
        index += 1


def build(base: Path, entries: int) -> tuple[Path, int]:
    """The remote of a record of ``entries`` entries; returns it and its entry count."""
    remote = base / "remote.git"
    run_git(base, "init", "-q", "--bare", "-b", "main", str(remote))
    run_git(PROJECT_DIR, "push", "-q", str(remote), "HEAD:refs/heads/main")
    commit = run_git(remote, "rev-parse", "main")
    governance = {
        "branch": "main",
        "commit": commit,
        "pipeline": {
            "path": PIPELINE_PATH,
            "blob": run_git(remote, "rev-parse", f"main:{PIPELINE_PATH}"),
        },
    }
    _, real = promotions(0, commit, governance)
    per_release = sum(len(steps) for steps in real)
    with tempfile.TemporaryFile() as spool:
        for chunk in stream(entries - per_release, commit, governance):
            spool.write(chunk)
        spool.seek(0)
        subprocess.run(["git", "-C", str(remote), "fast-import", "--quiet"], stdin=spool,
                       check=True)  # fmt: skip
    writer = base / "writer"
    run_git(base, "clone", "-q", str(remote), str(writer))
    state = GitState(writer)
    # The slot after every release the stream wrote (it used at most one per entry).
    release, walks = promotions(entries // per_release + 2, commit, governance)
    state.save_release(release)
    for steps in walks:
        for fields, stage in steps:
            change = None
            if stage is not None:
                change = StageChange(stage, "aws", release.id, release.images, commit,
                                     fields["promotion"], "forward", "bench")  # fmt: skip
            state.append(read_entry(fields), change)
    return remote, state.head()[0]
