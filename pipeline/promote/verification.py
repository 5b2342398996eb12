"""Verification: the stage answers its health paths with the release, then the pipeline's
verification commands pass. Polled until a deadline, since a rolling deploy answers with the old
version for a while.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    detail: str


def answers_with(body: str, release: str) -> bool:
    """A health answer names the release: as the whole body, or a JSON version/release field."""
    text = body.strip()
    if text == release:
        return True
    try:
        doc = json.loads(text)
    except ValueError:
        return False
    return isinstance(doc, dict) and release in (doc.get("version"), doc.get("release"))


def health_targets(outputs: Mapping[str, Any]) -> dict[str, str]:
    """service -> URL of its health path, from the stack outputs."""
    urls = outputs.get("serviceUrls") or {}
    paths = outputs.get("healthPaths") or {}
    if not urls and outputs.get("serviceUrl"):
        urls = {"service": outputs["serviceUrl"]}
    return {s: str(u).rstrip("/") + str(paths.get(s, "/healthz")) for s, u in sorted(urls.items())}


def _fetch(url: str, timeout: float) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), response.read(65536).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


@dataclass
class HealthCheck:
    """Poll every service's health path until each answers 200 with the release."""

    timeout: float = 300.0
    interval: float = 5.0

    def __call__(self, stage: str, outputs: Mapping[str, Any], release: str) -> VerifyResult:
        targets = health_targets(outputs)
        if not targets:
            return VerifyResult(False, f"{stage}: no serviceUrl/serviceUrls in the stack outputs")
        for service, url in targets.items():
            parsed = urllib.parse.urlsplit(url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                # urlopen would raise on it; a stage whose outputs are not URLs fails verification
                # (and is rolled back) like one that does not answer.
                return VerifyResult(
                    False,
                    f"{stage}: the service URL of {service} is {url!r}, not an http(s):// URL"
                    " (check the serviceUrl/serviceUrls outputs)",
                )
        deadline = time.monotonic() + self.timeout
        pending = dict(targets)
        last: dict[str, str] = {}
        while True:
            for service, url in list(pending.items()):
                status, body = _fetch(url, min(10.0, max(self.timeout, 0.5)))
                if status == 200 and answers_with(body, release):
                    del pending[service]
                else:
                    last[service] = f"{url} answered {status or 'nothing'}: {body.strip()[:80]!r}"
            if not pending:
                return VerifyResult(True, f"{len(targets)} health path(s) answer {release}")
            if time.monotonic() >= deadline:
                return VerifyResult(
                    False,
                    f"after {self.timeout:g}s: " + "; ".join(last[s] for s in sorted(pending)),
                )
            time.sleep(self.interval)


def run_commands(
    commands: Sequence[str],
    stage: str,
    release: str,
    outputs: Mapping[str, Any],
    timeout: float = 600.0,
) -> VerifyResult:
    """Run the pipeline file's verification commands with the stage in their environment."""
    env = {
        **os.environ,
        "STAGELINE_STAGE": stage,
        "STAGELINE_RELEASE": release,
        "STAGELINE_SERVICE_URL": str(outputs.get("serviceUrl", "")),
        "STAGELINE_OUTPUTS": json.dumps(dict(outputs), default=str),
    }
    for command in commands:
        try:
            done = subprocess.run(
                command, shell=True, env=env, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return VerifyResult(False, f"{command!r} timed out after {timeout:g}s")
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip()[-200:]
            return VerifyResult(False, f"{command!r} exited {done.returncode}: {tail}")
    return VerifyResult(True, f"{len(commands)} command(s) passed")
