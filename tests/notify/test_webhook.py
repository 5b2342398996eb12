"""Notification delivery against webhooks on loopback: one that answers, one that fails and
recovers, one that refuses the notice, one that hangs and one that refuses connections."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from components.spec.loader import SpecError
from pipeline.definition import load_pipeline
from pipeline.notify.config import EventKind, Webhook
from pipeline.notify.message import Notice
from pipeline.notify.webhook import Notifier
from tests.notify.servers import hanging, recording, refusing_url

NOTICE = Notice(
    EventKind.PROMOTION,
    "promotion of r-1 to test: promoted",
    "r-1 promoted to test",
    "promoted",
    {"release": "r-1", "dev": "verified"},
)


def notifier(url: str, reports: list[str], **settings: object) -> Notifier:
    return Notifier(Webhook(url=url, **settings), reports.append, sleep=lambda _: None)


def test_a_notice_is_posted_as_slack_and_teams_json() -> None:
    reports: list[str] = []
    with recording(200) as server:
        delivery = notifier(server.url, reports).send(NOTICE)
    assert delivery is not None and delivery.delivered and delivery.attempts == 1, delivery
    assert reports == []
    (body,) = server.bodies
    assert server.headers[0]["Content-Type"] == "application/json"
    # Slack reads text; Teams' MessageCard reads @type, @context, summary, title, sections.
    assert body["text"].startswith("*promotion of r-1 to test: promoted*\nr-1 promoted to test")
    assert "dev: verified" in body["text"]
    assert body["@type"] == "MessageCard" and body["@context"] == "https://schema.org/extensions"
    assert body["summary"] == body["title"] == NOTICE.title
    assert {"name": "release", "value": "r-1"} in body["sections"][0]["facts"]
    assert body["event"]["kind"] == "promotion" and body["event"]["outcome"] == "promoted"


def test_a_5xx_is_retried_until_it_passes() -> None:
    reports: list[str] = []
    with recording(503, 500, 200) as server:
        delivery = notifier(server.url, reports, retries=2).send(NOTICE)
    assert delivery is not None and delivery.delivered and delivery.attempts == 3, delivery
    assert len(server.bodies) == 3 and reports == []


def test_a_4xx_is_not_retried_and_reported_once() -> None:
    reports: list[str] = []
    with recording(404) as server:
        sender = notifier(server.url, reports, retries=3)
        first, second = sender.send(NOTICE), sender.send(NOTICE)
    assert first is not None and not first.delivered and first.attempts == 1, first
    assert second is not None and not second.delivered
    assert len(server.bodies) == 2  # one attempt per notice: a 404 will not change
    assert len(reports) == 1 and "HTTP 404" in reports[0], reports
    assert "secret" not in reports[0]  # the URL's path is the credential: only the host shows


def test_a_hanging_webhook_costs_at_most_its_timeouts() -> None:
    reports: list[str] = []
    with hanging() as (url, accepted):
        sender = notifier(url, reports, timeout_seconds=0.5, retries=1)
        started = time.monotonic()
        delivery = sender.send(NOTICE)
        took = time.monotonic() - started
        assert len(accepted) == 2, accepted  # both attempts reached it; neither was answered
    assert delivery is not None and not delivery.delivered and delivery.attempts == 2
    assert 0.9 <= took < 3.0, took
    assert len(reports) == 1 and "timed out" in reports[0], reports


def test_a_refusing_webhook_is_reported_once_over_many_notices() -> None:
    reports: list[str] = []
    sender = notifier(refusing_url(), reports, retries=2)
    started = time.monotonic()
    deliveries = [sender.send(NOTICE) for _ in range(3)]
    assert time.monotonic() - started < 2.0
    assert all(d is not None and not d.delivered and d.attempts == 3 for d in deliveries)
    assert len(reports) == 1, reports
    assert "127.0.0.1" in reports[0] and "refused" in reports[0], reports


def test_the_url_comes_from_the_named_variable_and_its_absence_is_said() -> None:
    reports: list[str] = []
    hook = Webhook(url_env="CHAT_WEBHOOK_URL")
    assert Notifier(hook, reports.append, environ={}).send(NOTICE) is not None
    assert reports == [
        "notifications: $CHAT_WEBHOOK_URL is not set, nothing was sent; nothing else is affected"
    ]
    with recording(200) as server:
        sent = Notifier(hook, reports.append, environ={"CHAT_WEBHOOK_URL": server.url})
        assert sent.send(NOTICE) is not None and len(server.bodies) == 1


def test_only_the_kinds_asked_for_are_sent() -> None:
    with recording(200) as server:
        sender = Notifier(Webhook(url=server.url, events=(EventKind.ROLLBACK,)), print)
        assert sender.send(NOTICE) is None
    assert server.bodies == []


@pytest.mark.parametrize(
    ("webhook", "key", "says"),
    [
        ({}, "notifications.webhook", "exactly one of url and urlEnv"),
        ({"url": "ftp://x/y"}, "notifications.webhook", "http(s) URL"),
        ({"urlEnv": "hook url"}, "notifications.webhook.urlEnv", "pattern"),
        ({"url": "http://h/", "timeoutSeconds": 0}, "notifications.webhook.timeoutSeconds", ""),
        ({"url": "http://h/", "events": ["deploy"]}, "notifications.webhook.events.0", ""),
    ],
)
def test_a_bad_webhook_names_the_file_and_key(
    stacks_copy: Path, webhook: dict[str, object], key: str, says: str
) -> None:
    import yaml

    path = stacks_copy / "pipeline.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["notifications"] = {"webhook": webhook}
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecError) as caught:
        load_pipeline(stacks_copy)
    assert caught.value.source == str(path)
    found = [p for p in caught.value.problems if p.key == key]
    assert found and says in found[0].message, caught.value.problems


@pytest.mark.parametrize(
    ("rollback", "outcome", "kind"),
    [
        (False, "promoted", EventKind.PROMOTION),
        (False, "stopped", EventKind.PROMOTION),
        (False, "rolled back", EventKind.ROLLBACK),  # a failed verification rolled it back
        (True, "rolled back", EventKind.ROLLBACK),
        (True, "proposed", EventKind.ROLLBACK),
        (False, "refused", None),  # nothing ran
        (False, "nothing to do", None),
    ],
)
def test_which_promotions_are_told_and_as_what(
    rollback: bool, outcome: str, kind: EventKind | None
) -> None:
    from pipeline.notify.hooks import promotion_notice
    from pipeline.promote.orchestrator import Outcome, Request

    request = Request("r-1", "live", "aws", rollback=rollback)
    notice = promotion_notice(request, Outcome(1, outcome, f"{outcome}\nmore", {"live": outcome}))
    if kind is None:
        assert notice is None
        return
    assert notice is not None and notice.kind is kind and notice.outcome == outcome
    assert notice.text == outcome and notice.facts["live"] == outcome
