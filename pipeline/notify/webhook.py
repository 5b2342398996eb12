"""Deliver notices to the pipeline file's webhook: bounded in time, retried, never raising.

A notification is a courtesy: whatever the webhook does (refuse, hang, answer 500, not exist),
``Notifier.send`` returns within about ``(retries + 1) * timeoutSeconds`` plus the backoff, and a
promotion's outcome and exit code stay what they were. The first failure is reported once (one
line through ``report``); later failures in the same run stay silent. The URL is never printed
(a chat webhook's path is its credential): only its host is.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from pipeline.notify.config import Webhook
from pipeline.notify.message import Notice, payload

BACKOFF_SECONDS = 0.5  # before the second attempt; doubled after each further one


@dataclass(frozen=True)
class Delivery:
    """What became of one notice."""

    delivered: bool
    attempts: int
    detail: str


class _PermanentError(Exception):
    """A refusal that another attempt would not change (a 4xx other than 429)."""


class Notifier:
    """Sends notices to one webhook (None: notifications are not configured)."""

    def __init__(
        self,
        webhook: Webhook | None,
        report: Callable[[str], None],
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.webhook = webhook
        self.report = report
        self.environ = os.environ if environ is None else environ
        self.sleep = sleep
        self.reported = False
        self.deliveries: list[Delivery] = []

    def _url(self) -> str | None:
        assert self.webhook is not None
        if self.webhook.url is not None:
            return self.webhook.url
        assert self.webhook.url_env is not None
        return self.environ.get(self.webhook.url_env) or None

    def send(self, notice: Notice) -> Delivery | None:
        """Post ``notice``; None when there is no webhook or it does not take this kind."""
        if self.webhook is None or notice.kind not in self.webhook.events:
            return None
        try:
            delivery = self._send(notice)
        except Exception as exc:  # a notification never fails what it reports
            delivery = Delivery(False, 0, f"{type(exc).__name__}: {exc}")
        self.deliveries.append(delivery)
        if not delivery.delivered and not self.reported:
            self.reported = True
            self.report(f"notifications: {delivery.detail}; nothing else is affected")
        return delivery

    def _send(self, notice: Notice) -> Delivery:
        assert self.webhook is not None
        url = self._url()
        if url is None:
            return Delivery(False, 0, f"${self.webhook.url_env} is not set, nothing was sent")
        host = urlsplit(url).hostname or "?"
        body = json.dumps(payload(notice)).encode()
        attempts, last = 0, ""
        for attempt in range(self.webhook.retries + 1):
            if attempt:
                self.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
            attempts += 1
            try:
                status = self._post(url, body, self.webhook.timeout_seconds)
            except _PermanentError as exc:
                return Delivery(False, attempts, f"webhook on {host} refused the notice ({exc})")
            except (urllib.error.URLError, OSError, ValueError) as exc:
                last = _reason(exc)
                continue
            return Delivery(True, attempts, f"delivered to {host} (HTTP {status})")
        return Delivery(
            False, attempts, f"webhook on {host} not reached after {attempts} attempt(s) ({last})"
        )

    @staticmethod
    def _post(url: str, body: bytes, timeout: float) -> int:
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(65536)
                return int(response.status)
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise OSError(f"HTTP {exc.code}") from None
            raise _PermanentError(f"HTTP {exc.code}") from None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__
