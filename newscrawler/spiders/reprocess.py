"""The reprocess spider: the portal spider run over the raw-page archive instead of the portals.

For each archived article (its newest archived fetch, see newscrawler/archive.py) it requests the article's
first page, and the `ArchivedPages` downloader middleware answers every request from the archive — nothing
is fetched (the http and https download handlers are switched off). From there on it is the crawl's own code:
`PortalSpider.parse_article` extracts the page, follows 下一页 continuations (answered from the same archived
fetch) and merges them into one article, and the items go through the crawl's pipelines (validate → normalise
→ dedup → store). The store, told by NEWSCRAWLER_REPROCESS that nothing was fetched now, updates the fields
that changed and records a version when a versioned one did; writing the same article again changes nothing,
so a reprocess run twice, or run again after being killed, does no harm.

`StoredLater`, a spider middleware, drops the articles whose stored copy comes from a later fetch than any the
archive holds (archiving was off then, or the page was imported), so a reprocess never turns an article back
into older text.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers, Request, Response
from scrapy.responsetypes import responsetypes

from newscrawler import config, signals
from newscrawler.archive import ArchiveDamaged, ArchivedArticle, archive_dir, newest_articles, read_page
from newscrawler.extensions.store import store_of
from newscrawler.extract import Article
from newscrawler.profiles import PortalProfile, load_profiles
from newscrawler.spiders.portal import PortalSpider
from newscrawler.store.articles import WriteCounts

logger = logging.getLogger(__name__)

# A crawl stamps an article's fetchedAt as its last page is parsed, a moment after the archive wrote that page;
# a stored fetchedAt later than the archived page by more than this comes from another fetch (another run:
# hours later from cron).
SAME_FETCH = timedelta(seconds=60)
START_BATCH = 200


class ReprocessSpider(PortalSpider):
    name = "reprocess"
    custom_settings = {
        "NEWSCRAWLER_REPROCESS": True,
        "NEWSCRAWLER_IGNORE_POLITENESS": True,
        "ROBOTSTXT_OBEY": False,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "RETRY_ENABLED": False,
        "COOKIES_ENABLED": False,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    }
    # Merged into the project's component settings (custom_settings would replace them whole).
    components = {
        # Nothing may reach the network: a request the archive cannot answer fails instead of being fetched.
        "DOWNLOAD_HANDLERS": {"http": None, "https": None},
        # First: no other downloader middleware needs to see a request that is never sent.
        "DOWNLOADER_MIDDLEWARES": {"newscrawler.spiders.reprocess.ArchivedPages": 10},
        "SPIDER_MIDDLEWARES": {"newscrawler.spiders.reprocess.StoredLater": 900,
                               "newscrawler.middlewares.IncrementalCrawl": None},
        # Archived pages say nothing about a portal's health today: no verdict, no baseline, no alert.
        "EXTENSIONS": {"newscrawler.extensions.archive.PageArchive": None,
                       "newscrawler.monitors.extension.PortalHealth": None},
    }

    def __init__(self, site: str | None = None, since: str | None = None, until: str | None = None,
                 **kwargs: Any):
        super().__init__(site=site, **kwargs)
        if not site:  # every portal with a profile, disabled ones too: their archived pages are still theirs
            self.profiles: dict[str, PortalProfile] = load_profiles()
        self.since = datetime.fromisoformat(since) if since else None
        self.until = datetime.fromisoformat(until) if until else None
        self.archived: dict[str, ArchivedArticle] = {}
        self.damaged: list[ArchiveDamaged] = []
        self.changed: dict[str, list[str]] = {}
        self.versioned: set[str] = set()

    @classmethod
    def update_settings(cls, settings) -> None:
        super().update_settings(settings)
        for name, extra in cls.components.items():
            settings.set(name, {**settings.getdict(name), **extra}, priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> ReprocessSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.articles_written, signal=signals.articles_written)
        return spider

    async def start(self):
        settings = self.crawler.settings
        self.directory = archive_dir(config.data_dir(settings.get("NEWSCRAWLER_DATA_DIR") or None))
        self.archived = newest_articles(self.directory, self.profiles, self.since, self.until, self.damaged)
        stats = self.crawler.stats
        stats.set_value("reprocess/articles", len(self.archived))
        stats.set_value("reprocess/pages", sum(len(a.pages) for a in self.archived.values()))
        stats.set_value("reprocess/damaged_files", len(self.damaged))
        self.logger.info("reprocessing %d archived articles from %s", len(self.archived), self.directory)
        for linked, article in sorted(self.archived.items(), key=lambda kv: (kv[1].first_fetched, kv[0])):
            yield scrapy.Request(article.url, callback=self.parse_article, errback=self.on_error, dont_filter=True,
                                 meta=self._meta(self.profiles[article.site], "article", linked=linked, pages=[]))

    def _item(self, article: Article, profile: PortalProfile, linked: str, status: int | None) -> Article:
        item = super()._item(article, profile, linked, status)
        item.fetchedAt = self.archived[linked].fetched  # when the pages were fetched, not now
        return item

    def articles_written(self, counts: WriteCounts) -> None:
        self.changed.update(counts.changed)
        self.versioned.update(counts.versioned)


class ArchivedPages:
    """Downloader middleware: answers each request of the reprocess spider with the archived response of the
    same fetch (the article's, found by the request's `linked` key); a page the archive lacks (a continuation
    the fixed extractor finds but the crawl never fetched) fails like a page that could not be fetched."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivedPages:
        return cls(crawler)

    def process_request(self, request: Request) -> Response:
        spider = self.crawler.spider
        article = spider.archived.get(request.meta.get("linked"))
        where = article.pages.get(request.url) if article is not None else None
        if where is None:
            raise IgnoreRequest(f"{request.url} is not in the archive")
        try:
            page = read_page(*where)
        except (ArchiveDamaged, OSError) as exc:
            raise IgnoreRequest(str(exc)) from None
        headers = Headers()
        for name, value in page.headers:
            headers.appendlist(name, value.encode("latin-1", "replace"))
        cls = responsetypes.from_args(headers=headers, url=page.url, body=page.body)
        return cls(url=page.url, status=page.status, headers=headers, body=page.body, request=request)


class StoredLater:
    """Spider middleware: drops the start requests of articles whose stored copy was fetched later than the
    archive's newest copy of them (one store look-up per START_BATCH articles)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoredLater:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        batch: list[Any] = []
        async for request in start:
            batch.append(request)
            if len(batch) >= START_BATCH:
                for kept in await self._current(batch):
                    yield kept
                batch = []
        for kept in await self._current(batch):
            yield kept

    async def _current(self, batch: list[Any]) -> list[Any]:
        if not batch:
            return []
        spider, store = self.crawler.spider, store_of(self.crawler)
        keys = [r.meta["linked"] for r in batch if isinstance(r, Request) and r.meta.get("linked")]
        stored = await store.in_reader(store.articles.fetched_at, keys)
        kept = []
        for request in batch:
            key = request.meta.get("linked") if isinstance(request, Request) else None
            when = stored.get(key) if key else None
            if when is not None and when > spider.archived[key].fetched + SAME_FETCH:
                self.crawler.stats.inc_value("reprocess/stored_later")
                logger.info("kept as stored: %s was fetched again on %s, after the archive's newest copy (%s)",
                            key, when.isoformat(timespec="seconds"),
                            spider.archived[key].fetched.isoformat(timespec="seconds"))
                continue
            kept.append(request)
        return kept
