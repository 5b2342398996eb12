"""One promotion per pipeline at a time: a lock that names its owner (the git record's
pipeline.record.gitlock, the tests' double's pipeline.promote.memory).

The owner is host, pid, user, start time and command. A lock is stale when its owner ran on
this host and that pid is gone (killed, crashed), or when it is older than ``stale_after`` (an
owner on another machine cannot be checked). A stale lock is taken over; the caller reports
whose it was.
"""

from __future__ import annotations

import getpass
import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


class LockHeldError(Exception):
    """Another promotion of the same pipeline is running."""

    def __init__(self, path: Path | str, owner: dict[str, Any]) -> None:
        self.path = path
        self.owner = owner
        who = ", ".join(f"{k} {owner.get(k)}" for k in ("host", "pid", "user", "started"))
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


def lock_owner() -> dict[str, Any]:
    """Who takes a lock: host, pid, user, start time and command."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "user": _user(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(sys.argv),
    }


def is_stale(owner: dict[str, Any], stale_after: timedelta) -> bool:
    """An owner on this host whose pid is gone, or any owner older than ``stale_after``."""
    if not owner:  # unreadable: its writer died between create and write
        return True
    if owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        return not process_alive(owner["pid"])
    try:
        started = datetime.fromisoformat(str(owner.get("started")))
    except ValueError:
        return True
    return datetime.now(UTC) - started > stale_after
