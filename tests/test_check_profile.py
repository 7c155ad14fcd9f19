"""`newscrawler check-profile SITE`, each shipped profile's self-test: passes on the replay as published, fails
naming the check on a replay whose portals changed their layout (`replay generate --drift`), and works on a
saved page (article or listing) as well as fetched ones."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from kit import newscrawler

from newscrawler.cli.check import check_article
from newscrawler.profiles import load_profiles
from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

SHIPPED = ("jzrb", "dahe", "hnr", "lyd")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    base = tmp_path_factory.mktemp("check")
    published = generate(base / "published", articles_per_site=20)
    drifted = generate(base / "drifted", articles_per_site=20, drift=list(SHIPPED))
    with ReplayServer(base / "published") as ok, ReplayServer(base / "drifted") as changed:
        yield base, published, drifted, ok, changed


def check_profile(*args: str) -> subprocess.CompletedProcess:
    return newscrawler(None, "check-profile", *args, timeout=120)


@pytest.mark.parametrize("site", SHIPPED)
def test_each_shipped_profile_passes_its_self_test_on_the_site_as_published(recordings, site):
    _, _, _, ok, _ = recordings
    done = check_profile(site, "--replay", ok.proxy_url)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].endswith("checks passed") and all(line.startswith("ok") for line in lines[:-1])
    checked = {line.split(":")[0].split(maxsplit=1)[1] for line in lines[:-1]}
    assert {"article links", "headline", "datePublished", "articleBody"} <= checked
    assert {f"selector {f}" for f in load_profiles()[site].selectors} <= checked


@pytest.mark.parametrize(("site", "failing"), [
    ("jzrb", "datePublished"),   # the date moved to the foot, unlabelled: not found at all
    ("dahe", "selector articleBody"),  # every selector of the profile matches nothing
    ("hnr", "article links"),    # the new CMS's article URLs do not match article_url_pattern
    ("lyd", "datePublished"),    # only the URL's day is left: looks like a date, is not on the page
])
def test_a_changed_layout_fails_the_self_test_naming_the_check(recordings, site, failing):
    _, _, drifted, _, changed = recordings
    assert site in drifted["drift"]
    done = check_profile(site, "--replay", changed.proxy_url)
    assert done.returncode == 1, done.stdout + done.stderr
    assert any(line.startswith(f"FAIL  {failing}:") for line in done.stdout.splitlines()), done.stdout
    assert "checks failed" in done.stdout.splitlines()[-1]


def _page(base: Path, recording: str, url: str) -> Path:
    routes = json.loads((base / recording / "routes.json").read_text(encoding="utf-8"))["routes"]
    (route,) = [r for r in routes if r["url"] == url]
    return base / recording / "pages" / route["file"]


def test_a_saved_article_page_and_a_saved_listing_page(recordings):
    base, published, _, _, _ = recordings
    article = next(a for a in published["articles"] if a["site"] == "dahe" and not a.get("special"))
    done = check_profile("dahe", "--page", str(_page(base, "published", article["url"])), "--url", article["url"])
    assert done.returncode == 0, done.stdout
    assert f"ok    headline: {article['headline']!r}" in done.stdout
    drifted = check_profile("dahe", "--page", str(_page(base, "drifted", article["url"])), "--url", article["url"])
    assert drifted.returncode == 1 and "FAIL  selector headline" in drifted.stdout
    column = "http://news.dahe.cn/hnyw/"
    listing = check_profile("dahe", "--page", str(_page(base, "published", column)), "--url", column)
    assert listing.returncode == 0 and "ok    article links:" in listing.stdout


def test_usage_errors(tmp_path):
    assert check_profile("nosuch").returncode == 2
    assert check_profile("jzrb", "--page", str(tmp_path / "x.html")).returncode == 2  # no --url
    missing = check_profile("jzrb", "--page", str(tmp_path / "x.html"), "--url", "http://www.jzrb.com/")
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_every_published_article_of_the_replay_passes_the_article_checks(recordings):
    base, published, _, _, _ = recordings
    profiles = load_profiles()
    failures = []
    for article in published["articles"]:
        if article["url"] in published.get("redirects", {}):
            continue
        page = _page(base, "published", article["url"])
        headers = {"Content-Type": article["contentType"]}
        bad = [c.line() for c in check_article(profiles[article["site"]], page.read_bytes(), headers, article["url"])
               if not c.ok]
        if bad:
            failures.append((article["url"], bad))
    assert not failures, failures[:3]
