"""Politeness: AutoThrottle never goes below a portal's own download_delay; a portal's requests stay on its
hosts (links, pagination and redirects); Scrapy's remote control and Telnet consoles are off. Real crawls
of the replay served from 127.0.0.1."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import kit
import pytest
from kit import crawl, open_store, scrapy_env

from newscrawler.profiles import load_profiles
from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

OFFSITE_PAGE = "http://www.offsite.example/news/bendi/index_2.shtml"


def test_a_portal_never_leaves_its_hosts_by_link_or_redirect(tmp_path):
    rec = tmp_path / "rec"
    manifest = generate(rec, articles_per_site=20)
    plain = [a for a in manifest["articles"] if not a.get("special") and a["pages"] == 1]
    jzrb = next(a for a in plain if a["site"] == "jzrb" and a["column"] == "bendi")
    dahe = next(a for a in plain if a["site"] == "dahe")
    routes = json.loads((rec / "routes.json").read_text(encoding="utf-8"))
    for route in routes["routes"]:
        if route["url"] == jzrb["url"]:  # the jzrb article now answers 302 to another portal's article
            route.update(status=302, location=dahe["url"])
            route.pop("file", None)
        if route["url"] == "http://www.jzrb.com/news/bendi/":
            column_page = rec / "pages" / route["file"]
    (rec / "routes.json").write_text(json.dumps(routes), encoding="utf-8")
    # A pagination link (matching the profile's pagination_pattern) on another host.
    html = column_page.read_bytes()
    column_page.write_bytes(html.replace(b"</body>", f'<a href="{OFFSITE_PAGE}">2</a></body>'.encode()))

    data = tmp_path / "data"
    with ReplayServer(rec) as server:
        result = crawl(data, "jzrb", "dahe", "--replay", server.proxy_url)
        counts = server.counts
    assert result.returncode == 0, result.stderr[-3000:]
    assert counts.get(OFFSITE_PAGE, 0) == 0 and not any("offsite.example" in u for u in counts)
    assert counts[jzrb["url"]] == 1 and counts[dahe["url"]] == 1  # the redirect was not followed
    profiles = load_profiles()
    with open_store(data) as store:
        docs = list(store.articles.collection.find({}, {"site": 1, "url": 1, "canonicalUrl": 1, "urls": 1}))
        (run,) = store.runs.recent()
    for doc in docs:
        for url in [doc["url"], doc["canonicalUrl"], *doc["urls"]]:
            assert profiles[doc["site"]].owns_url(url), (doc["site"], url)
    assert not any(jzrb["url"] in d["urls"] for d in docs)
    assert [d["site"] for d in docs if d["canonicalUrl"] == dahe["url"]] == ["dahe"]
    (error,) = [e for e in run["errors"] if e["url"] == jzrb["url"]]
    assert "redirects (302) off jzrb's hosts" in error["error"] and dahe["url"] in error["error"]


def test_autothrottle_never_goes_below_the_profiles_download_delay_and_no_console_listens(tmp_path):
    rec = tmp_path / "rec"
    generate(rec, articles_per_site=20)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    hnr = Path(load_profiles()["hnr"].path).read_text(encoding="utf-8")
    hnr = re.sub(r"(?ms)^\[politeness\].*", "", hnr) + "\n[politeness]\ndownload_delay = 0.3\nconcurrent_requests = 2\n"
    (profiles / "hnr.toml").write_text(hnr, encoding="utf-8")
    data = tmp_path / "data"
    with ReplayServer(rec) as server:
        env = scrapy_env(data, {"http_proxy": server.proxy_url, "NEWSCRAWLER_PROFILES": str(profiles)})
        # The replay answers in about a millisecond: Scrapy's AutoThrottle would bring the delay down to the
        # global DOWNLOAD_DELAY, here 0.
        result = kit.scrapy("crawl", "portal", "-a", "site=hnr", "-s", "DOWNLOAD_DELAY=0",
                            "-s", "AUTOTHROTTLE_START_DELAY=0", "-s", "AUTOTHROTTLE_DEBUG=1",
                            "-s", "LOG_LEVEL=DEBUG", env=env)  # DEBUG: the "Crawled" line of every fetch, checked below
    assert result.returncode == 0, result.stderr[-3000:]
    (log,) = (data / "logs").glob("crawl-*.log")
    text = log.read_text(encoding="utf-8")
    delays = [int(d) for d in re.findall(r"slot: hnr \| conc: *\d+ \| delay: *(\d+) ms", text)]
    assert len(delays) >= 20
    assert min(delays) >= 300, delays
    assert "ProfileAutoThrottle" in text and "scrapy.extensions.throttle.AutoThrottle'" not in text
    enabled = text[text.index("Enabled extensions"):text.index("Enabled downloader middlewares")]
    assert "RemoteControl" not in enabled and "TelnetConsole" not in enabled
    fetched = re.findall(r"Crawled \(\d+\) <GET (\S+)>", text)
    assert len(fetched) >= 20 and all(urlsplit(u).hostname.endswith("hnr.cn") for u in fetched)
