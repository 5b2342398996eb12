"""Run the sample service (app.py beside this file), optionally with a fault baked into the image.

``APP_FAULT`` (set from the image's build argument) picks the fault:

* empty: the service exactly as app.py ships it;
* ``health``: the service starts and serves ``/`` as usual, but its health path answers 500, so
  the container turns unhealthy and a promotion's verification must refuse the release.

This wrapper exists so the fault needs no change to examples/app/app.py.
"""

from __future__ import annotations

import os
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

import app

FAULTS = ("", "health")
_healthy_handler = app.make_handler


def _failing_health(settings: app.Settings) -> type[BaseHTTPRequestHandler]:
    healthy = _healthy_handler(settings)

    class FailingHealth(healthy):  # type: ignore[valid-type,misc]
        def do_GET(self) -> None:  # noqa: N802 - the name BaseHTTPRequestHandler calls
            if self.path.split("?", 1)[0] == settings.health_path:
                self._json(
                    HTTPStatus.INTERNAL_SERVER_ERROR,
                    {"status": "failing", "fault": "health", "release": settings.release},
                )
            else:
                super().do_GET()

    return FailingHealth


def main() -> int:
    fault = os.environ.get("APP_FAULT", "")
    if fault not in FAULTS:
        print(f"serve: APP_FAULT: expected one of {FAULTS}, got {fault!r}", file=sys.stderr)
        return 2
    if fault == "health":
        print("serve: fault 'health' is on: the health path answers 500", flush=True)
        app.make_handler = _failing_health
    return app.main()


if __name__ == "__main__":
    sys.exit(main())
