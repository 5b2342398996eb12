"""One promotion per pipeline at a time: a lock that names its owner (the git record's
pipeline.record.gitlock, the tests' double's pipeline.promote.memory).

The owner is host, pid, user, start time and command. A lock is stale when its owner ran on
this host and that pid is gone (killed, crashed), or when it is older than ``stale_after`` (an
owner on another machine cannot be checked). A stale lock is taken over; the caller reports
whose it was.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path


@dataclass(frozen=True)
class LockOwner:
    """Who holds a pipeline lock, as its lock file stores it (a field it lacks or does not type
    is None: an unreadable file names nobody, and counts as stale)."""

    host: str | None = None
    pid: int | None = None
    user: str | None = None
    started: str | None = None
    command: str | None = None
    token: str | None = None
    """The holding process's own mark: its lock is still its own while the file carries it."""

    def to_json(self) -> dict[str, str | int]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def who(self, *keys: str) -> str:
        """``host h, pid p, ...`` for the fields ``keys`` (the default: host, pid, user, start)."""
        names = keys or ("host", "pid", "user", "started")
        return ", ".join(f"{k} {getattr(self, k)}" for k in names)


def read_owner(raw: bytes | str | None) -> LockOwner | None:
    """A lock file's owner; None when there is no lock (no file, or one left empty by a writer
    that died between create and write)."""
    if not raw:
        return None
    try:
        stored = json.loads(raw)
    except ValueError:
        return LockOwner()
    if not isinstance(stored, dict):
        return LockOwner()
    texts = {
        k: str(stored[k]) for k in ("host", "user", "started", "command", "token") if k in stored
    }
    pid = stored.get("pid")
    return LockOwner(pid=pid if type(pid) is int else None, **texts)


class LockHeldError(Exception):
    """Another promotion of the same pipeline is running."""

    def __init__(self, path: Path | str, owner: LockOwner) -> None:
        self.path = path
        self.owner = owner
        who = owner.who()
        super().__init__(
            f"{path}: another promotion holds this pipeline ({who}); wait for it, or remove the"
            " file if that process is gone for sure"
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True


def lock_owner(token: str | None = None) -> LockOwner:
    """Who takes a lock: host, pid, user, start time and command (and the taker's token)."""
    return LockOwner(
        host=socket.gethostname(),
        pid=os.getpid(),
        user=_user(),
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        command=" ".join(sys.argv),
        token=token,
    )


def is_stale(owner: LockOwner, stale_after: timedelta) -> bool:
    """An owner on this host whose pid is gone, or any owner older than ``stale_after``."""
    if owner.host == socket.gethostname() and owner.pid is not None:
        return not process_alive(owner.pid)
    try:
        started = datetime.fromisoformat(str(owner.started))
    except ValueError:
        return True
    return datetime.now(UTC) - started > stale_after
