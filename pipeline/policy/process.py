"""Start the policy pack as the Pulumi engine does, and always stop it.

The engine runs a Python pack through its language host as ``python -u -m pulumi.policy
<engine-address> <pack-dir>`` (cwd: the pack), with the stack's identity in ``PULUMI_PROJECT``,
``PULUMI_STACK``, ``PULUMI_ORGANIZATION``, ``PULUMI_DRY_RUN`` and its config in ``PULUMI_CONFIG``;
``PolicyPack(...)`` then serves the Analyzer service and prints its port on stdout.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from components.spec.loader import PROJECT

STARTUP_TIMEOUT = 60.0
# The pack never dials the engine unless a policy logs through it; nothing listens here.
ENGINE_ADDRESS = "127.0.0.1:0"


class PolicyPackError(Exception):
    """The pack could not be started, crashed, or answered something unusable."""


class PackProcess:
    """The pack's server process. ``start()`` returns at once, so the pack boots while the
    caller renders; ``port()`` waits for the port line. Use as a context manager."""

    def __init__(self, pack_dir: Path, project: str = PROJECT, dry_run: bool = True) -> None:
        self.pack_dir = pack_dir
        self.project = project
        self.dry_run = dry_run
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._port: int | None = None
        self.launched: float | None = None
        """When ``start()`` launched the process (``time.monotonic()``)."""

    def start(self) -> PackProcess:
        if not (self.pack_dir / "PulumiPolicy.yaml").is_file():
            raise PolicyPackError(f"{self.pack_dir}: no PulumiPolicy.yaml, not a policy pack")
        env = {
            **os.environ,
            "PULUMI_PROJECT": self.project,
            "PULUMI_ORGANIZATION": "organization",
            "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
            # One process serves every stage of a plan, so no single stack is named; the
            # stage reaches the rules through ConfigureStack and the policy config instead.
            "PULUMI_CONFIG": "{}",
            "PULUMI_CONFIG_SECRET_KEYS": json.dumps([]),
        }
        env.pop("PULUMI_STACK", None)
        # stderr goes to a file, not a pipe: a chatty pack must never block on a full pipe.
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.launched = time.monotonic()
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, "."],
            cwd=self.pack_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        return self

    def stderr_tail(self, lines: int = 20) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    def port(self, timeout: float = STARTUP_TIMEOUT) -> int:
        """The port the pack listens on, read from the first line it prints."""
        if self._port is not None:
            return self._port
        process = self._require()
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = b""
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PolicyPackError(
                        f"policy pack {self.pack_dir} printed no port within {timeout:.0f}s"
                    )
                if selector.select(remaining):
                    chunk = os.read(process.stdout.fileno(), 64)
                    if not chunk:
                        raise self.crashed("exited before it printed its port")
                    line += chunk
        try:
            self._port = int(line.strip())
        except ValueError:
            raise PolicyPackError(f"policy pack printed {line!r} instead of a port") from None
        return self._port

    def crashed(self, what: str) -> PolicyPackError:
        process = self._require()
        code = process.poll()
        status = f"exit code {code}" if code is not None else "still running"
        return PolicyPackError(
            f"policy pack {self.pack_dir} {what} ({status}); its stderr:\n{self.stderr_tail()}"
        )

    def alive(self, grace: float = 0.0) -> bool:
        """Whether the pack still runs, waiting up to ``grace`` seconds for it to exit."""
        if self._process is None:
            return False
        try:
            self._process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return True
        return False

    def stop(self) -> None:
        """Terminate the pack and wait for it; kill it if it does not go."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _require(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise PolicyPackError("the policy pack process is not running (start() first)")
        return self._process

    def __enter__(self) -> PackProcess:
        return self if self._process is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
