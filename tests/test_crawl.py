"""End to end: `newscrawler crawl` (real Scrapy, in a child process) against the replayed portals served
from 127.0.0.1, into a real MongoDB-wire server."""

from __future__ import annotations

import json
import re
import time
import unicodedata
from datetime import datetime
from pathlib import Path

import kit
import pytest
from kit import newscrawler, open_store, read, scrapy_env

from newscrawler.normalise.urls import canonical_url
from newscrawler.profiles import load_profiles
from newscrawler.runlock import RunLock
from newscrawler.schema import STORED
from newscrawler.store.server import find_running
from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

PROFILES = load_profiles()
STORED_KEYS = {"_id", *STORED}


def squash(text: str | None) -> str:
    """Compare text as the normaliser stores it: NFKC (℃ → °C, full-width digits folded), no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def is_article_page(url: str) -> bool:
    return any(p.owns_url(url) and (p.is_article_url(url) or re.search(r"_\d{2}\.shtml$", url))
               for p in PROFILES.values())


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    base = tmp_path_factory.mktemp("replay")
    v1 = generate(base / "v1", articles_per_site=20)
    v2 = generate(base / "v2", articles_per_site=20, version=2)
    return base, v1, v2


@pytest.fixture(scope="module")
def replay(recordings):
    base, _, _ = recordings
    with ReplayServer(base / "v1") as server:
        yield server


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, replay, recordings):
    """One data directory crawled twice from the v1 recording, on its own embedded server as cron runs it;
    what each run fetched."""
    data = tmp_path_factory.mktemp("data")
    replay.reset_counts()
    first = newscrawler(data, "crawl", "--replay", replay.proxy_url, embedded=True)
    first_counts = replay.counts
    replay.reset_counts()
    second = newscrawler(data, "crawl", "--replay", replay.proxy_url, embedded=True)
    second_counts = replay.counts
    return data, first, first_counts, second, second_counts


@pytest.fixture(scope="module")
def served(crawled):
    """The crawled data directory's embedded server kept up while the `db` commands read it (as `db serve`
    would): each command joins it instead of starting it (about 5 s each)."""
    left_running = find_running(crawled[0])
    with open_store(crawled[0], embedded=True) as store:
        yield crawled[0], left_running, store


def test_first_crawl_stores_every_recorded_article_exactly_once(crawled, served, recordings):
    _, first, _, _, _ = crawled
    manifest = recordings[1]
    assert first.returncode == 0, first.stderr[-3000:]
    store = served[2]
    assert store.articles.count() == len(manifest["articles"])
    wrong = []
    for expected in manifest["articles"]:
        doc = store.articles.find(expected["url"])
        if doc is None:
            wrong.append((expected["url"], "missing"))
            continue
        if squash(doc["headline"]) != squash(expected["headline"]):
            wrong.append((expected["url"], "headline", doc["headline"]))
        if doc["datePublished"] != datetime.fromisoformat(expected["datePublished"]):
            wrong.append((expected["url"], "date", doc["datePublished"]))
        if expected["source"] not in (doc.get("source"), doc.get("sourceRaw")):
            wrong.append((expected["url"], "source", doc.get("source"), doc.get("sourceRaw")))
        body = squash(doc["articleBody"])
        first_para, last_para = (squash(p) for p in (expected["bodyParagraphs"][0], expected["bodyParagraphs"][-1]))
        if first_para not in body or last_para not in body or body.count(first_para) != 1:
            wrong.append((expected["url"], "body"))
        if set(doc) - set(STORED_KEYS):
            wrong.append((expected["url"], "not a stored field of the schema", set(doc) - set(STORED_KEYS)))
    assert not wrong
    run = store.runs.recent()[-1]  # the first of the two runs
    assert run["status"] == "ok" and run["exitCode"] == 0
    assert run["articles"]["new"] == len(manifest["articles"])
    per_portal = run["perPortal"]
    assert {site: m["articles_new"] for site, m in per_portal.items()} == {
        site: sum(1 for a in manifest["articles"] if a["site"] == site) for site in manifest["sites"]}
    assert sum(m.get("errors", 0) for m in per_portal.values()) == len(manifest["not_found"])
    assert {e["url"] for e in run["errors"]} == set(manifest["not_found"])


def test_second_crawl_fetches_no_article_page_and_stores_nothing_new(crawled, served, recordings):
    _, _, first_counts, second, second_counts = crawled
    assert second.returncode == 0, second.stderr[-3000:]
    assert sum(1 for u in first_counts if is_article_page(u)) >= len(recordings[1]["articles"])
    assert [u for u in second_counts if is_article_page(u)] == []
    store = served[2]
    run = store.runs.last()
    assert store.articles.count() == len(recordings[1]["articles"])
    assert run["articles"] == {"new": 0, "updated": 0, "unchanged": 0, "dropped": 0}


def test_data_survives_a_restart_of_the_embedded_server(served, recordings):
    _, left_running, store = served
    assert left_running is None  # every command stopped the server it started
    assert store.server is not None and store.server.owned  # started again, here
    assert store.articles.count() == len(recordings[1]["articles"])
    assert len(store.runs.recent()) == 2


def test_each_run_logs_to_its_own_file(crawled):
    data = crawled[0]
    logs = sorted((data / "logs").glob("crawl-*.log"))
    assert len(logs) == 2
    assert "run " in logs[0].read_text() and "exit 0" in logs[0].read_text()


@pytest.fixture(scope="module")
def jzrb_recordings(tmp_path_factory):
    """Enough jzrb articles for columns three pages deep, before and after new articles appear."""
    base = tmp_path_factory.mktemp("replay-jzrb")
    return (base / "v1", generate(base / "v1", articles_per_site=120),
            base / "v2", generate(base / "v2", articles_per_site=120, version=2))


def column_page_3(counts: dict[str, int]) -> list[str]:
    return [u for u in counts if re.search(r"/news/[a-z]+/index_3\.shtml$", u)]


def test_new_articles_are_picked_up_and_pagination_stops_early(tmp_path, jzrb_recordings):
    v1_dir, v1, v2_dir, v2 = jzrb_recordings
    with ReplayServer(v1_dir) as server:
        assert newscrawler(tmp_path, "crawl", "jzrb", "--replay", server.proxy_url).returncode == 0
        assert column_page_3(server.counts)  # the recording really is deeper than two pages
    added = {u for u in v2["added"] if PROFILES["jzrb"].owns_url(u)}
    assert added
    with ReplayServer(v2_dir) as server:
        result = newscrawler(tmp_path, "crawl", "jzrb", "--replay", server.proxy_url)
        counts = server.counts
    assert result.returncode == 0, result.stderr[-2000:]
    assert {canonical_url(u, PROFILES["jzrb"]) for u in counts if is_article_page(u)} == added
    # Page 1 of a column brings the new articles, page 2 is all known: no page 3.
    assert not column_page_3(counts)
    with open_store(tmp_path) as store:
        assert store.runs.last()["articles"]["new"] == len(added)
        assert store.articles.count() == sum(1 for a in v2["articles"] if a["site"] == "jzrb")
    # --backfill pages through every column again, still fetching no known article.
    with ReplayServer(v2_dir) as server:
        assert newscrawler(tmp_path, "crawl", "jzrb", "--backfill", "--replay", server.proxy_url).returncode == 0
        counts = server.counts
    assert column_page_3(counts)
    assert not {u for u in counts if is_article_page(u)}


def test_a_second_crawl_on_the_same_data_exits_at_once(tmp_path, replay):
    with RunLock(tmp_path):
        start = time.monotonic()
        result = newscrawler(tmp_path, "crawl", "--replay", replay.proxy_url)
    assert result.returncode == 75
    assert "already running" in result.stderr
    assert time.monotonic() - start < 20


def test_a_portal_that_fails_outright_makes_the_run_fail(tmp_path, replay):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "ghost.toml").write_text(
        'site = "ghost"\nhosts = ["ghost.example"]\nstart_urls = ["http://www.ghost.example/"]\n'
        "article_url_pattern = '/\\d+\\.html$'\n", encoding="utf-8")
    result = newscrawler(tmp_path / "data", "crawl", "ghost", "--replay", replay.proxy_url,
                         env={"NEWSCRAWLER_PROFILES": str(profiles)})
    assert result.returncode == 1
    assert "ghost" in result.stdout + result.stderr
    with open_store(tmp_path / "data") as store:
        run = store.runs.last()
    assert run["status"] == "failed" and run["failedPortals"] == ["ghost"]


def test_a_portal_whose_links_no_longer_match_its_profile_fails_the_run(tmp_path, replay):
    """The listing pages come, but the site changed its URL scheme: not a silent success."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    text = Path(PROFILES["hnr"].path).read_text(encoding="utf-8").replace('site = "hnr"', 'site = "hnrold"')
    text = re.sub(r"article_url_pattern = '[^']*'", lambda _: r"article_url_pattern = '/content/\d+\.htm$'", text)
    (profiles / "hnrold.toml").write_text(text, encoding="utf-8")
    result = newscrawler(tmp_path / "data", "crawl", "hnrold", "--replay", replay.proxy_url,
                         env={"NEWSCRAWLER_PROFILES": str(profiles)})
    assert result.returncode == 1
    with open_store(tmp_path / "data") as store:
        run = store.runs.last()
    assert run["failedPortals"] == ["hnrold"]
    assert "article_url_pattern" in run["message"] and str(profiles / "hnrold.toml") in run["message"]


def test_broken_profile_is_named_with_its_field(tmp_path, replay):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "bad.toml").write_text('site = "bad"\nhosts = ["x.cn"]\nstart_urls = ["http://x.cn/"]\n'
                                        "article_url_pattern = '(['\n", encoding="utf-8")
    # The healthy portals are crawled all the same (issue 12): from the replay, so nothing leaves the machine.
    result = newscrawler(tmp_path, "crawl", "--replay", replay.proxy_url, env={"NEWSCRAWLER_PROFILES": str(profiles)})
    assert result.returncode == 2
    assert str(profiles / "bad.toml") in result.stderr and "article_url_pattern" in result.stderr


def test_unreachable_mongo_uri_fails_fast_without_printing_the_password(tmp_path):
    start = time.monotonic()
    result = newscrawler(tmp_path, "crawl", "jzrb", env={"MONGO_URI": "mongodb://crawler:hunter2@127.0.0.1:9/"})
    assert result.returncode == 3
    assert time.monotonic() - start < 30
    assert "crawler:***@127.0.0.1:9" in result.stderr
    logs = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert "hunter2" not in result.stderr + result.stdout + logs


def test_scrapy_crawl_command_runs_the_same_spider(tmp_path, replay):
    env = scrapy_env(tmp_path, {"http_proxy": replay.proxy_url})
    result = kit.scrapy("crawl", "portal", "-a", "site=hnr", "-s", "NEWSCRAWLER_IGNORE_POLITENESS=1",
                        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "LOG_LEVEL=WARNING", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    with open_store(tmp_path) as store:
        stats = store.stats()
    assert set(stats["perSite"]) == {"hnr"} and stats["perSite"]["hnr"] >= 20
    assert stats["lastRun"]["portals"] == ["hnr"] and stats["lastRun"]["status"] == "ok"


def test_db_stats_json(served, recordings):
    result = read(served[0], "db", "stats", "--json", embedded=True)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["articles"] == len(recordings[1]["articles"])
    assert sum(stats["perSite"].values()) == stats["articles"]
    assert stats["lastRun"]["status"] == "ok"


def test_db_find_and_show(served, recordings):
    data = served[0]
    manifest = recordings[1]
    seed_copies = [a for a in manifest["articles"] if a["story"] == "seed"]
    assert {a["script"] for a in seed_copies} == {"Hans", "Hant"}
    # A Traditional query finds both the Simplified and the Traditional copy.
    found = read(data, "db", "find", "總書記", "--site", "jzrb", "--json", embedded=True)
    assert found.returncode == 0, found.stderr
    urls = {json.loads(line)["canonicalUrl"] for line in found.stdout.splitlines()}
    assert urls == {a["url"] for a in seed_copies}
    dahe = read(data, "db", "find", "--site", "dahe", "--since", "2024-06-01", "--until", "2024-07-01",
                       "--limit", "0", "--json", embedded=True)
    expected = {a["url"] for a in manifest["articles"]
                if a["site"] == "dahe" and "2024-06-01" <= a["datePublished"][:10] < "2024-07-01"}
    assert {json.loads(line)["canonicalUrl"] for line in dahe.stdout.splitlines()} == expected
    shown = read(data, "db", "show", "--json", seed_copies[0]["url"].replace("www.", ""), embedded=True)
    assert shown.returncode == 0 and json.loads(shown.stdout)["canonicalUrl"] == seed_copies[0]["url"]
    assert read(data, "db", "show", "http://www.jzrb.com/nope.shtml", embedded=True).returncode == 1


def test_recheck_records_an_edited_article_as_a_version(tmp_path, recordings):
    base, v1, v2 = recordings
    [edit] = v2["changed"]
    with ReplayServer(base / "v1") as server:
        assert newscrawler(tmp_path, "crawl", "dahe", "--replay", server.proxy_url).returncode == 0
    with ReplayServer(base / "v2") as server:
        result = newscrawler(tmp_path, "crawl", "dahe", "--recheck", "--replay", server.proxy_url)
        assert server.count(edit["url"]) == 1  # known, fetched again because of --recheck
    assert result.returncode == 0, result.stderr[-2000:]
    with open_store(tmp_path) as store:
        doc = store.articles.find(edit["url"])
        run = store.runs.last()
        assert store.articles.count() == sum(1 for a in v2["articles"] if a["site"] == "dahe")
    assert squash(edit["after"]) in squash(doc["articleBody"])
    [version] = doc["versions"]
    assert version["changed"] == ["articleBody"]
    added = [u for u in v2["added"] if PROFILES["dahe"].owns_url(u)]
    assert run["articles"]["updated"] == 1 and run["articles"]["new"] == len(added)
    assert run["articles"]["unchanged"] >= 5 and run["recheck"] is True
