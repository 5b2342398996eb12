"""A pseudo-terminal for tests of terminal-only output (progress, spinners)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
import threading


class Terminal:
    """A pty whose output a thread collects into ``seen`` until the last writer closes it;
    ``columns`` sets its window's width. Give ``follower`` to the writer, call
    ``close_follower()`` once it is handed over, and ``finish()`` after the writer is done."""

    def __init__(self, columns: int | None = None) -> None:
        self.leader, self.follower = pty.openpty()
        if columns:  # what a terminal window of that width reports (os.get_terminal_size)
            size = struct.pack("HHHH", 50, columns, 0, 0)
            fcntl.ioctl(self.follower, termios.TIOCSWINSZ, size)
        self.seen = bytearray()
        self._reader = threading.Thread(target=self._drain)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:  # the pty's last writer closed it
                return
            if not chunk:
                return
            self.seen.extend(chunk)

    def close_follower(self) -> None:
        os.close(self.follower)

    def finish(self, timeout: float = 30) -> str:
        self._reader.join(timeout=timeout)
        os.close(self.leader)
        return self.seen.decode(errors="replace")
