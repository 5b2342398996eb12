"""The sample service, run as a real process on a free loopback port and queried over HTTP."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

APP = Path(__file__).resolve().parents[2] / "examples" / "app" / "app.py"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(APP)],
        env={"PATH": os.environ.get("PATH", ""), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_ready(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"app exited early: {proc.communicate()}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"app did not listen on {port} within 10 s")


@pytest.fixture
def app() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    env = {
        "PORT": str(port),
        "HEALTH_PATH": "/ready",
        "STAGELINE_RELEASE": "r2026.11.22-1",
        "STAGELINE_STAGE": "local",
        "STAGELINE_SERVICE": "api",
        "APP_PROJECT": "acme-shop",  # the image's PROJECT build argument
    }
    proc = start(env)
    try:
        wait_ready(proc, port)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=5)


def test_health_path_reports_the_release_from_the_environment(
    app: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = app
    status, body = get(f"{base}/ready")
    assert status == 200
    assert body == {
        "release": "r2026.11.22-1",
        "service": "api",
        "stage": "local",
        "status": "ok",
    }


def test_the_greeting_and_server_header_name_the_project_the_image_was_built_for(
    app: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = app
    with urllib.request.urlopen(f"{base}/", timeout=5) as response:
        assert response.headers["Server"].split() == ["acme-shop-app"]  # sys_version is ""
        assert json.loads(response.read()) == {"service": "api", "hello": "acme-shop"}


def test_only_the_configured_health_path_answers_health(
    app: tuple[str, subprocess.Popen[str]],
) -> None:
    base, _ = app
    status, body = get(f"{base}/healthz")  # the default path is not served when another is set
    assert status == 404
    assert body["path"] == "/healthz"


def test_sigterm_stops_the_service_cleanly(app: tuple[str, subprocess.Popen[str]]) -> None:
    base, proc = app
    assert get(f"{base}/ready")[0] == 200
    proc.send_signal(signal.SIGTERM)
    # a generous bound: the two-core CI machine can be busy; a hang still fails
    assert proc.wait(timeout=30) == 0


def test_sigterm_during_requests_stops_the_service(app: tuple[str, subprocess.Popen[str]]) -> None:
    """A stop that lands while a request is being handed to its thread still stops it: the
    earlier handler raised there, socketserver reported the exception and served on (seen
    in a cold make test; 3 hangs in 450 runs of the plain test under load)."""
    base, proc = app
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            # the server going away mid-request: refused, reset, cut short
            with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
                get(f"{base}/ready")

    assert proc.stdout is not None
    logged: list[str] = []  # a line per request: read, as the log driver does, or the pipe fills
    drain = threading.Thread(target=lambda: logged.extend(proc.stdout), daemon=True)
    clients = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
    for thread in (drain, *clients):
        thread.start()
    try:
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop.set()
    drain.join(timeout=10)
    assert len(logged) > 10, logged  # the stop came while requests were being served


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORT": "eighty"}, "PORT: expected a port number"),
        ({"PORT": "8080", "HEALTH_PATH": "healthz"}, "HEALTH_PATH: expected a path"),
    ],
)
def test_bad_configuration_exits_2_naming_the_variable(env: dict[str, str], message: str) -> None:
    proc = start(env)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 2
    assert message in err
