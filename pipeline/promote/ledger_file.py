"""Where a ledger is kept (``LedgerStorage``), and the file that kept it before the git
record (``LedgerFile``: pipeline.promote.ledger.Ledger, which pipeline.record.local imports).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from pipeline.promote.files import fsync_dir, write_atomic


class LedgerStorage(Protocol):
    """Where a ledger's lines and its head are kept. A writer holds ``exclusive()`` around its
    read of the last line and its ``write``: one writer at a time."""

    where: str
    """The ledger as problems name it (a file's path)."""
    head_where: str

    def read(self) -> bytes:
        """The ledger as stored (empty: no ledger yet)."""
        ...

    def read_head(self) -> str | None:
        """The head as stored (None: none yet)."""
        ...

    def exclusive(self) -> AbstractContextManager[None]: ...

    def cut(self, keep: int) -> None:
        """Keep only the first ``keep`` bytes (a torn last line is cut off)."""
        ...

    def write(self, line: bytes) -> None:
        """Append ``line`` whole and durably (inside ``exclusive``)."""
        ...

    def write_head(self, text: str) -> None: ...


class LedgerFile:
    """A ledger file and its head file ``<ledger>.head``: an append is one ``write`` on an
    ``O_APPEND`` descriptor, fsynced, under a ``flock`` (promotions of different pipelines may
    share one ledger)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        self.where, self.head_where = str(path), str(self.head_path)
        self._fd: int | None = None
        self._new = False

    def read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def read_head(self) -> str | None:
        try:
            return self.head_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._fd = fd
            yield
        finally:
            self._fd = None
            os.close(fd)  # closing releases the flock

    def cut(self, keep: int) -> None:
        with open(self.path, "r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())

    def write(self, line: bytes) -> None:
        assert self._fd is not None, "written outside exclusive()"
        os.write(self._fd, line)  # one write: a killed process cannot leave half of it
        os.fsync(self._fd)
        if self._new:
            fsync_dir(self.path.parent)

    def write_head(self, text: str) -> None:
        write_atomic(self.head_path, text)
