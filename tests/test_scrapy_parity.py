"""Scrapy's own commands on this project: `scrapy crawl portal` is one newscrawler run (lock, log file, run
record, exit status); `scrapy shell`, `parse`, `fetch` and `view` work on any portal URL and leave no run
record, no data directory and no database server behind. Real `scrapy` processes against the replay."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import kit
import pytest
from kit import open_store, scrapy_env

from newscrawler import export
from newscrawler.runlock import RunLock
from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

FAST = ["-s", "NEWSCRAWLER_IGNORE_POLITENESS=1", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"]


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    rec = tmp_path_factory.mktemp("rec")
    manifest = generate(rec, articles_per_site=20)
    with ReplayServer(rec) as server:
        yield server, manifest


def scrapy(data: Path, proxy: str, *args: str, env: dict | None = None, timeout: int = 240, embedded: bool = True):
    """`scrapy ARGS…` on the data directory; by default without a MONGO_URI (the commands that must not start
    the embedded server are seen not to, and nothing is put in the data directory beforehand: first_start)."""
    full = scrapy_env(data, {"http_proxy": proxy, "BROWSER": "true", **(env or {})}, embedded=embedded,
                      first_start=True)
    return kit.scrapy(*args, env=full, timeout=timeout)


def database_servers_on(path: Path) -> list[int]:
    """Processes whose command line names `path` (an embedded database server started on it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(path) in cmdline and "secantus" in cmdline:
                found.append(int(proc.name))
    return found


def ghost_profiles(tmp_path: Path) -> dict:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "ghost.toml").write_text(
        'site = "ghost"\nhosts = ["ghost.example"]\nstart_urls = ["http://www.ghost.example/"]\n'
        "article_url_pattern = '/\\d+\\.html$'\n", encoding="utf-8")
    return {"NEWSCRAWLER_PROFILES": str(profiles)}


def test_scrapy_crawl_exits_like_newscrawler_crawl_when_a_portal_fails(tmp_path, replay):
    server, _ = replay
    data = tmp_path / "data"
    result = scrapy(data, server.proxy_url, "crawl", "portal", "-a", "site=ghost,hnr", *FAST,
                    env=ghost_profiles(tmp_path), embedded=False)
    assert result.returncode == 1, result.stderr[-3000:]
    (log,) = (data / "logs").glob("crawl-*.log")
    assert "Spider opened" in log.read_text(encoding="utf-8")
    # Not a terminal: the short summary, not Scrapy's log.
    assert "ghost" in result.stderr and f"log: {log}" in result.stderr and "Dumping Scrapy stats" not in result.stderr
    with open_store(data) as store:
        (record,) = store.runs.recent()
    assert record["status"] == "failed" and record["exitCode"] == 1 and record["failedPortals"] == ["ghost"]
    assert record["logFile"] == str(log) and record["portals"] == ["ghost", "hnr"]


def test_scrapy_crawl_takes_the_lock_and_checks_its_portals(tmp_path, replay):
    server, _ = replay
    data = tmp_path / "data"
    data.mkdir()
    with RunLock(data):
        locked = scrapy(data, server.proxy_url, "crawl", "portal", "-a", "site=hnr", *FAST)
    assert locked.returncode == 75 and "already running" in locked.stderr
    unknown = scrapy(data, server.proxy_url, "crawl", "portal", "-a", "site=nosuch")
    assert unknown.returncode == 2 and "nosuch" in unknown.stderr
    ok = scrapy(data, server.proxy_url, "crawl", "portal", "-a", "site=hnr", *FAST)
    assert ok.returncode == 0 and ok.stdout == "" and ok.stderr == "", ok.stderr[-3000:]
    assert database_servers_on(data) == []


def _article(manifest, site: str) -> dict:
    return next(a for a in manifest["articles"] if a["site"] == site and not a.get("special") and a["pages"] == 1)


@pytest.mark.parametrize("command", [
    ["parse", "--spider=portal", "-c", "parse_article", "{url}"],
    ["parse", "{url}"],
    ["shell", "{url}", "-c", "list(spider.parse(response))[0].headline"],
    ["fetch", "--nolog", "{url}"],
    ["view", "--nolog", "{url}"],
], ids=["parse-callback", "parse", "shell", "fetch", "view"])
def test_debugging_commands_work_on_a_portal_url_and_leave_nothing_behind(tmp_path, replay, command):
    server, manifest = replay
    article = _article(manifest, "jzrb")
    data = tmp_path / "data"
    result = scrapy(data, server.proxy_url, *[a.format(url=article["url"]) for a in command], timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    if command[0] in ("parse", "shell"):
        assert article["headline"] in result.stdout
    if command[0] == "fetch":
        assert "<html" in result.stdout.lower()
    # No run record, no database, not even a data directory; no server process left.
    assert not data.exists()
    assert database_servers_on(data) == []


def test_parse_on_a_listing_page_lists_its_article_links(tmp_path, replay):
    server, manifest = replay
    result = scrapy(tmp_path / "data", server.proxy_url, "parse", "http://news.hnr.cn/hnxw/")
    assert result.returncode == 0, result.stderr[-3000:]
    linked = [a["url"] for a in manifest["articles"] if a["site"] == "hnr" and a["column"] == "hnxw"]
    assert any(url in result.stdout for url in linked)
    assert not (tmp_path / "data").exists()


def test_scrapy_feed_exports_write_articles_as_db_export_does(tmp_path, replay):
    """`scrapy crawl portal -o FILE`: every stored article, as `newscrawler db export` writes it (the crawl's item
    holds internal fields, dedup's sketch among them as bytes, which Scrapy's JSON encoder refused on every item)."""
    server, _ = replay
    data = tmp_path / "data"
    jsonl, csv_file = tmp_path / "articles.jsonl", tmp_path / "articles.csv"
    result = scrapy(data, server.proxy_url, "crawl", "portal", "-a", "site=hnr", *FAST,
                    "-o", str(jsonl), "-o", str(csv_file), embedded=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-3000:]
    assert "ERROR" not in kit.last_log(data)
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    with open_store(data) as store:
        stored = {doc["canonicalUrl"]: export.record(doc) for doc in store.articles.collection.find({})}
    assert len(stored) >= 20 and sorted(line["canonicalUrl"] for line in lines) == sorted(stored)
    for line in lines:
        assert list(line) == list(export.FIELDS)
        want = stored[line["canonicalUrl"]]
        # The store sets when it first and last saw the article as it writes; it keeps milliseconds; the URLs an
        # article was reached by are a set.
        assert {k: v for k, v in line.items() if k not in ("firstSeen", "lastSeen", "fetchedAt", "urls")} == \
               {k: v for k, v in want.items() if k not in ("firstSeen", "lastSeen", "fetchedAt", "urls")}
        assert sorted(line["urls"]) == sorted(want["urls"])
        assert line["fetchedAt"][:23] == want["fetchedAt"][:23]
    assert any(re.search(r"[\u4e00-\u9fff]", line["headline"]) for line in lines)  # UTF-8, not \u escapes
    assert "\\u" not in jsonl.read_text(encoding="utf-8")
    assert csv_file.read_bytes().startswith(b"\xef\xbb\xbfurl,")  # the byte-order mark, as db export writes it
    rows = list(csv.reader(io.StringIO(csv_file.read_text(encoding="utf-8-sig"))))
    assert rows[0] == list(export.FIELDS) and len(rows) == len(lines) + 1
    authors = rows[0].index("authors")
    assert all(isinstance(json.loads(row[authors]), list) for row in rows[1:])
