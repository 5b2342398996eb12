"""stageline's sample service: a stdlib-only HTTP server whose health path reports its release.

Configured the way the blueprint configures every service: ``PORT``, ``HEALTH_PATH`` and
``STAGELINE_RELEASE`` (also ``STAGELINE_STAGE`` and ``STAGELINE_SERVICE`` when set). Promotion
verification reads the health path and compares ``release`` with the release it promoted.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The project the image was built for: its Dockerfile's PROJECT build argument (Pulumi.yaml's name,
# tools/images/build.sh passes it); the image carries nothing else of the project.
PROJECT = os.environ.get("APP_PROJECT", "").strip() or "sample"


class ConfigError(ValueError):
    """An environment variable the service needs is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    port: int
    health_path: str
    release: str
    stage: str
    service: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        raw_port = env.get("PORT", "8080")
        if not raw_port.isdigit() or not 0 <= int(raw_port) <= 65535:
            raise ConfigError(f"PORT: expected a port number 0..65535, got {raw_port!r}")
        health_path = env.get("HEALTH_PATH", "/healthz")
        if not health_path.startswith("/"):
            raise ConfigError(f"HEALTH_PATH: expected a path starting with /, got {health_path!r}")
        return cls(
            port=int(raw_port),
            health_path=health_path,
            release=env.get("STAGELINE_RELEASE", "unreleased"),
            stage=env.get("STAGELINE_STAGE", "unknown"),
            service=env.get("STAGELINE_SERVICE", "app"),
        )


def make_handler(settings: Settings) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = f"{PROJECT}-app"
        sys_version = ""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == settings.health_path:
                self._json(
                    HTTPStatus.OK,
                    {
                        "status": "ok",
                        "release": settings.release,
                        "stage": settings.stage,
                        "service": settings.service,
                    },
                )
            elif path == "/":
                self._json(HTTPStatus.OK, {"service": settings.service, "hello": PROJECT})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found", "path": path})

        def _json(self, status: HTTPStatus, body: dict[str, str]) -> None:
            data = json.dumps(body, sort_keys=True).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            # One line per request on stdout, where the container's log driver collects it.
            print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


# How often the serving loop looks whether a stop was asked for: the longest a stop waits.
POLL_SECONDS = 0.2


def main(env: Mapping[str, str] | None = None) -> int:
    try:
        settings = Settings.from_env(os.environ if env is None else env)
    except ConfigError as exc:
        print(f"app: {exc}", file=sys.stderr)
        return 2
    server = ThreadingHTTPServer(("0.0.0.0", settings.port), make_handler(settings))
    server.timeout = POLL_SECONDS
    # SIGTERM (``docker stop``) and SIGINT only note the stop; the loop below sees it within
    # POLL_SECONDS. Raising from the handler instead was lost whenever the signal came while a
    # request was being handed to its thread: socketserver reports any Exception there and
    # serves on, so ``docker stop`` waited for its SIGKILL (tests/examples/test_app.py).
    stops: list[int] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _frame: stops.append(number))
    port = server.server_address[1]
    print(f"app: {settings.service} {settings.release} listening on {port}", flush=True)
    try:
        while not stops:
            server.handle_request()  # one request, or none within server.timeout
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
