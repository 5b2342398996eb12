"""What looks like a secret in a container's environment, on every substrate.

A variable is a secret by its name (``*_PASSWORD``, ``*_PASS``, ``*_TOKEN``, ...) or by its value:
a URL with credentials in it (``postgres://app:hunter2@db/app``) is a password whatever the
variable is called (``DATABASE_URL``, ``DSN``).
"""

from __future__ import annotations

import re

SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|PASSPHRASE|(^|_)PASS(_|$)|(^|_)PWD$|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY"
    r"|ACCESS_?KEY|CREDENTIAL|CONNECTION_?STRING|(^|_)DSN$",
    re.IGNORECASE,
)
_URL_CREDENTIALS = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#@\s:]*:[^/?#@\s]+@", re.IGNORECASE)


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says it holds a secret (``*_FILE`` paths to one do not)."""
    return SECRET_NAME.search(name) is not None and not name.upper().endswith("_FILE")


def has_url_credentials(value: str) -> bool:
    """Whether ``value`` holds a URL with a password in it (``scheme://user:password@host``)."""
    return _URL_CREDENTIALS.search(value) is not None
