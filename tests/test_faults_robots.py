"""Issue 12 item 9: with ROBOTSTXT_OBEY, every disallowed URL waits for the host's robots.txt and is not
fetched, however many requests to a fresh host arrive while robots.txt downloads. Real Scrapy crawls in
child processes against an HTTP server on 127.0.0.1 whose robots.txt takes half a second."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from kit import REPO, crawl, open_store

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

ROBOTS = b"User-agent: *\nDisallow: /private/\n"

# The smallest crawl showing it: many requests to one host at once, robots.txt slow to come.
SPIDER = '''
import sys
import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.utils.project import get_project_settings

base, middleware = sys.argv[1], sys.argv[2]

class Spider(scrapy.Spider):
    name = "robots"
    async def start(self):
        for i in range(6):
            yield scrapy.Request(f"{base}/private/{i}.html", dont_filter=True)
        for i in range(3):
            yield scrapy.Request(f"{base}/public/{i}.html", dont_filter=True)
    def parse(self, response):
        pass

settings = get_project_settings()
settings.setdict({"LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "DOWNLOAD_DELAY": 0,
                  "AUTOTHROTTLE_ENABLED": False, "ITEM_PIPELINES": {}, "SPIDER_MIDDLEWARES": {}, "EXTENSIONS": {},
                  "DOWNLOADER_MIDDLEWARES": {"scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
                                             middleware: 100}}, priority="cmdline")
process = CrawlerProcess(settings)
process.crawl(Spider)
process.start()
'''


class Site(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/robots.txt":
            time.sleep(0.5)
            body = ROBOTS
        else:
            self.hits.append(self.path)
            links = "".join(f'<a href="/{d}/{n}/2024/{i}.html">第{i}条</a>' for d in ("news", "private")
                            for n in ("a", "b") for i in range(2))
            body = f"<html><body><h1>栏目</h1>{links}</body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    handler = type("Handler", (Site,), {"hits": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", handler.hits
    server.shutdown()


def run_spider(tmp_path: Path, base: str, middleware: str) -> None:
    script = tmp_path / "spider.py"
    script.write_text(SPIDER, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script), base, middleware], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env={"SCRAPY_SETTINGS_MODULE": "newscrawler.settings",
                                                         "PATH": "/usr/bin:/bin", "no_proxy": "127.0.0.1"})
    assert result.returncode == 0, result.stderr[-2000:]


def test_no_request_waiting_for_robots_txt_is_let_through(tmp_path, site):
    base, hits = site
    run_spider(tmp_path, base, "newscrawler.robots.RobotsTxtMiddleware")
    assert sorted(hits) == [f"/public/{i}.html" for i in range(3)]


def test_canary_scrapys_own_middleware_lets_waiting_requests_through(tmp_path, site):
    """The upstream bug (Scrapy 2.19): when this fails, Scrapy is fixed and newscrawler/robots.py can go."""
    base, hits = site
    run_spider(tmp_path, base, "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware")
    assert [h for h in hits if h.startswith("/private/")], "Scrapy obeyed robots.txt: drop newscrawler/robots.py"


def test_a_crawl_never_fetches_a_disallowed_page(tmp_path, site):
    base, hits = site
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    # Five listing pages requested at once from a fresh host, three of them disallowed, and article links
    # on both sides of the rule.
    (profiles / "local.toml").write_text(
        f'site = "local"\nhosts = ["127.0.0.1"]\nstart_urls = ["{base}/", "{base}/private/home/"]\n'
        f'column_urls = ["{base}/private/a/", "{base}/private/b/", "{base}/news/c/"]\n'
        "article_url_pattern = '/\\d{4}/\\d+\\.html$'\n[politeness]\ndownload_delay = 0\nconcurrent_requests = 8\n",
        encoding="utf-8")
    result = crawl(tmp_path / "data", "local", env={"NEWSCRAWLER_PROFILES": str(profiles), "no_proxy": "127.0.0.1"})
    assert "Traceback" not in result.stderr
    assert [h for h in hits if h.startswith("/private/")] == []
    assert {"/", "/news/c/", "/news/a/2024/0.html", "/news/b/2024/1.html"} <= set(hits)
    with open_store(tmp_path / "data") as store:
        assert store.runs.last()["pagesFetched"] >= 3
