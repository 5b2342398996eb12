"""``report --html DIR``: the pipeline page, from a real promotion record (the fake cloud of
tests/promote), opened in a real headless Chromium (Debian's chromium and chromium-driver,
driven by selenium): it loads with no console error and no request, shows each stage and
release, its charts render, every link resolves, and it fits a phone and a desktop; the
screenshots are kept as test artifacts (STAGELINE_ARTIFACTS, default .stageline/artifacts)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline.cli import main
from tests.conftest import PROJECT_DIR
from tests.promote.conftest import (  # noqa: F401 (fixtures)
    cloud,
    health,
    make_release_in,
    state,
    state_dir,
)
from tests.promote.typed_entries import typed

FAKE = "tests.promote.fakes:file_deployer"
LOW_CONTRAST = (Path(__file__).parent / "contrast.js").read_text()  # text under 4.5:1
ARTIFACTS = Path(os.environ.get("STAGELINE_ARTIFACTS", PROJECT_DIR / ".stageline" / "artifacts"))
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}
# Chromium as a test harness: no network beyond the page, no profile, nothing in the background.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _browser_or_skip() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(
            "BROWSER TEST NOT RUN: no chromium or chromedriver on PATH"
            " (make test installs Debian's chromium and chromium-driver: tools/browser.sh)"
        )
    return chromium, driver


@pytest.fixture
def site(stacks_copy, state_dir, health, make_release_in, cloud, tmp_path, monkeypatch):  # noqa: F811
    """A record with promotions, a rollback and a second release, then the page."""
    monkeypatch.setenv("STAGELINE_FAKE_HEALTH_URL", health.url)

    def cli(*args: str) -> int:
        return main([*args, "--stacks-dir", str(stacks_copy), "--state-dir", str(state_dir)])

    first, second = make_release_in("a"), make_release_in("b")
    promote = ("--deployer", FAKE, "--health-timeout", "1", "--json")
    assert cli("promote", first.id, "--to", "test", *promote) == 0
    assert cli("promote", second.id, "--to", "dev", *promote) == 0
    assert cli("promote", first.id, "--to", "dev", "--rollback", *promote) == 0
    out = tmp_path / "site"
    cache = ("--cache-dir", str(tmp_path / "cache"))
    assert cli("report", "--html", str(out), *cache) == 0
    return out, first, second


def test_the_page_in_a_real_browser(site, tmp_path, capsys):
    chromium, driver_path = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    out, first, second = site
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        browser.set_window_size(*WIDTHS["desktop"])
        browser.get((out / "index.html").as_uri())
        text = browser.find_element(By.TAG_NAME, "body").text
        for stack in ("dev", "test", "staging", "live", "azure-live", "local"):
            assert stack in text, stack
        assert first.id in text and second.id in text, "each release is shown"
        assert "rollback" in text, "the rollback is on the timeline"
        for landmark in ("header", "nav", "main"):
            assert browser.find_elements(By.TAG_NAME, landmark), landmark
        # A chart renders: its bars have a size on screen, and it says what it shows in text.
        bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart rect.bar")
        assert bars and all(b.size["width"] > 0 and b.size["height"] > 0 for b in bars)
        for chart in browser.find_elements(By.CSS_SELECTOR, "svg.chart"):
            assert chart.find_element(By.TAG_NAME, "desc").get_attribute("textContent")
        # No request beyond the page itself (styles and charts are inline; CSP forbids more).
        fetched = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
        )
        assert fetched == []
        links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a")]
        _links_resolve(browser, By, links, out)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name, size in WIDTHS.items():
            browser.set_window_size(*size)
            browser.get((out / "index.html").as_uri())
            wide = browser.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert wide[0] <= wide[1], f"{name}: the page scrolls sideways {wide}"
            shot = ARTIFACTS / f"pipeline-page-{name}.png"
            assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
            assert browser.execute_script(LOW_CONTRAST) == [], f"{name}: text under 4.5:1"
        errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
    finally:
        browser.quit()
    with capsys.disabled():
        print(f"\nscreenshots: {ARTIFACTS}/pipeline-page-{{phone,desktop}}.png")


def _links_resolve(browser, by, links: list[str], out: Path) -> None:
    """Every link is to the page itself or the catalog beside it, and its target exists."""
    assert links
    for link in links:
        parts = urlsplit(link)
        assert parts.scheme == "file", link  # nothing on the network
        target = Path(parts.path)
        assert target.parent == out and target.exists(), link
        if parts.fragment:
            browser.get(link)
            found = browser.find_elements(by.ID, parts.fragment)
            assert found, f"{link}: no element with that id"
    browser.get((out / "index.html").as_uri())


def test_without_a_record_the_page_says_so(stacks_copy, tmp_path, capsys):
    out = tmp_path / "site"
    empty = tmp_path / "empty-state"
    args = ["report", "--html", str(out), "--stacks-dir", str(stacks_copy)]
    assert main([*args, "--state-dir", str(empty), "--cache-dir", str(tmp_path / "c")]) == 0
    page = (out / "index.html").read_text()
    assert "Nothing promoted yet" in page and "never promoted" in page
    assert 'http-equiv="Content-Security-Policy"' in page
    # No external address: a scheme followed by a host (a Caddyfile's "http://:8081" names none).
    hosts = re.findall(r"\w+://[^:/\s\"'<]+", page.replace("http://www.w3.org/2000/svg", ""))
    assert hosts == []
    assert 'id="aws-ec2-vpc-flow-logs-enabled"' in (out / "catalog.html").read_text()


def test_a_file_in_the_way_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["report", "--html", str(blocker)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected a directory" in err


def test_the_timeline_says_who_approved_only_where_approval_is_required():
    from pipeline.site.model import _event

    base = {"seq": 7, "time": "2026-01-02T03:04:05+00:00", "release": "r-1", "approver": "alice"}
    gate = {**base, "step": "gate", "status": "completed"}
    approved = _event(typed({**gate, "stage": "live"}), {"live"})
    assert approved is not None and approved.kind == "approval"
    assert approved.text == "r-1 into live approved by alice"
    dev = typed({**gate, "stage": "dev"})
    assert _event(dev, {"live"}) is None  # the walk's approver, not dev's
    back = _event(typed({**base, "step": "start", "target": "dev", "rollback": True}), set())
    assert back is not None and back.kind == "rollback"
    failed = _event(
        typed({**base, "step": "up", "status": "failed", "stage": "test", "detail": "x"}), set()
    )
    assert failed is not None and failed.kind == "failed" and "test up failed: x" in failed.text
