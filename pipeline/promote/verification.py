"""Verification: the stage answers its health paths with the release, then the pipeline's
verification commands pass. Polled until a deadline, since a rolling deploy answers with the old
version for a while. TLS is always verified: against the system's CAs, or against the stage's own
CA alone when its outputs carry one (``caCertificate``, a local Docker stage).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
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


def trust_for(outputs: Mapping[str, Any]) -> ssl.SSLContext | None:
    """The TLS trust a stage's endpoints are verified against: its own CA alone when the stage
    has one (the ``caCertificate`` output of a Docker stage), else None (the system's CAs).
    Certificates and names are always checked; there is no way to turn that off."""
    pem = outputs.get("caCertificate")
    if not pem:
        return None
    try:
        return ssl.create_default_context(cadata=str(pem))
    except (ssl.SSLError, ValueError) as exc:
        raise ValueError(f"the caCertificate output is not a PEM certificate ({exc})") from None


def is_loopback_name(host: str) -> bool:
    """``localhost`` and every name under ``.localhost`` mean this machine (RFC 6761 6.3),
    whether or not the system resolver knows them."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def _fetch_tls(url: str, timeout: float, context: ssl.SSLContext) -> tuple[int, str]:
    """GET ``url`` trusting only ``context``'s CAs; a ``*.localhost`` host is reached on
    127.0.0.1 while TLS still names it (SNI and the certificate's name check) and so does Host."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    address = "127.0.0.1" if is_loopback_name(host) else host

    class Connection(http.client.HTTPSConnection):
        def connect(self) -> None:
            raw = socket.create_connection((address, port), timeout=timeout)
            self.sock = context.wrap_socket(raw, server_hostname=host)

    connection = Connection(host, port, timeout=timeout, context=context)
    try:
        connection.request("GET", parts.path or "/", headers={"Host": parts.netloc})
        response = connection.getresponse()
        return response.status, response.read(65536).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return 0, str(exc)
    finally:
        connection.close()


def _fetch(url: str, timeout: float, context: ssl.SSLContext | None = None) -> tuple[int, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and (context or is_loopback_name(parts.hostname or "")):
        return _fetch_tls(url, timeout, context or ssl.create_default_context())
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
        try:
            context = trust_for(outputs)
        except ValueError as exc:
            return VerifyResult(False, f"{stage}: {exc}")
        deadline = time.monotonic() + self.timeout
        pending = dict(targets)
        last: dict[str, str] = {}
        while True:
            for service, url in list(pending.items()):
                status, body = _fetch(url, min(10.0, max(self.timeout, 0.5)), context)
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
