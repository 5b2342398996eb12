"""A pseudo-terminal for tests of terminal-only output (progress, spinners)."""

from __future__ import annotations

import os
import pty
import threading


class Terminal:
    """A pty whose output a thread collects into ``seen`` until the last writer closes it.
    Give ``follower`` to the writer, call ``close_follower()`` once it is handed over, and
    ``finish()`` after the writer is done."""

    def __init__(self) -> None:
        self.leader, self.follower = pty.openpty()
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
