"""IncrementalCrawl, a spider middleware: what a crawl need not fetch again.

The spider yields every article link of a listing page and the column's next page. For each listing
page this middleware asks the store once which of the links are known (stored articles, and links that
were dead when last tried), drops those, and stops paging through a column after the first page that
brought nothing new — unless NEWSCRAWLER_BACKFILL. NEWSCRAWLER_RECHECK fetches known articles again (so an
edit becomes a version) but still skips dead links. Article links that answer 404/410 are remembered as
dead when the spider closes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import scrapy
from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from newscrawler import signals
from newscrawler.extensions.store import require_run, store_of
from newscrawler.store import Store

LISTING_KINDS = ("home", "column")


def _known(store: Store, urls: list[str]) -> tuple[set[str], set[str]]:
    """(stored, dead) among the URLs; runs on the store's reader thread, once per listing page."""
    stored = store.articles.known(urls)
    return stored, store.links.dead(u for u in urls if u not in stored)


class IncrementalCrawl:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.backfill = crawler.settings.getbool("NEWSCRAWLER_BACKFILL")
        self.recheck = crawler.settings.getbool("NEWSCRAWLER_RECHECK")
        self.scheduled: set[str] = set()
        self.dead_links: dict[str, int] = {}
        crawler.signals.connect(self.fetch_failed, signal=signals.fetch_failed)
        crawler.signals.connect(self.spider_closed, signal=scrapy_signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalCrawl:
        require_run(crawler)  # only a crawl run reads or writes the database
        return cls(crawler)

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        if response.meta.get("kind") not in LISTING_KINDS:
            async for out in result:
                yield out
            return
        outputs = [out async for out in result]
        articles = {id(r): r for r in outputs if isinstance(r, scrapy.Request) and r.meta.get("kind") == "article"}
        keys = [r.meta["linked"] for r in articles.values()]
        store = store_of(self.crawler)
        stored, dead = await store.in_reader(_known, store, keys) if keys else (set(), set())
        stats = self.crawler.stats
        stats.inc_value("listing/article_links", len(set(keys)))
        stats.inc_value("listing/article_links_known", len(stored | dead))
        # The walk stops where a normal run's would, --recheck or not.
        brought_new = any(k not in stored and k not in dead for k in keys)
        skip = dead if self.recheck else stored | dead
        for out in outputs:
            if id(out) in articles:
                key = out.meta["linked"]
                if key in skip or key in self.scheduled:
                    continue
                self.scheduled.add(key)
            elif isinstance(out, scrapy.Request) and out.meta.get("kind") == "column":
                if not (brought_new or self.backfill):
                    continue
            yield out

    def fetch_failed(self, status: int | None = None, linked: str | None = None, continuation: bool = False,
                     **_: Any) -> None:
        if status in (404, 410) and linked and not continuation:
            self.dead_links[linked] = status

    def spider_closed(self) -> None:
        if self.dead_links:
            store_of(self.crawler).links.record_dead(self.dead_links)
