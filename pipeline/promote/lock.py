"""One promotion per pipeline at a time: a lock file that names its owner.

The file is created with ``O_EXCL`` and holds host, pid, user, start time and command. A lock is
stale when its owner ran on this host and that pid is gone (killed, crashed), or when it is older
than ``stale_after`` (an owner on another machine cannot be checked). A stale lock is removed
and taken over; the caller reports whose it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from pipeline.promote.files import fsync_dir


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


@dataclass
class PromotionLock:
    """Context manager: ``with PromotionLock(path): ...``; ``taken_over`` names a stale owner."""

    path: Path
    stale_after: timedelta = timedelta(hours=6)
    taken_over: dict[str, Any] | None = None

    def owner(self) -> dict[str, Any]:
        return lock_owner()

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
            return data
        except (FileNotFoundError, ValueError):
            return {}

    def is_stale(self, owner: dict[str, Any]) -> bool:
        return is_stale(owner, self.stale_after)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # The stale check and the take-over happen under a short flock, so two contenders
        # cannot both judge one stale lock and one of them remove the other's fresh lock. The
        # flock is on the lock's directory: no guard file is left behind.
        guard = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(guard, fcntl.LOCK_EX)
            self._acquire()
        finally:
            os.close(guard)

    def _acquire(self) -> None:
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                current = self._read()
                if not self.is_stale(current):
                    raise LockHeldError(self.path, current) from None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                self.taken_over = current
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(self.owner()) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            fsync_dir(self.path.parent)
            return
        raise LockHeldError(self.path, self._read())

    def release(self) -> None:
        current = self._read()
        if current.get("pid") == os.getpid() and current.get("host") == socket.gethostname():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def __enter__(self) -> PromotionLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
