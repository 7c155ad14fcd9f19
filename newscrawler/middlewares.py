"""IncrementalCrawl, a spider middleware: what a crawl need not fetch again, and what it must fetch again.

The spider yields every article link of a listing page and the column's next page. For each listing
page this middleware asks the store once which of the links are known (stored articles, and links that
were dead when last tried), drops those, and decides whether the column's walk goes on.

A column's walk stops at the first page that brings nothing new *and* lies at or past the last complete
point: the first page of the last walk that was whole (walked to that point with no listing page failing,
in a run that finished). Its links are kept per column in the store (`store.columns`, `crawl_columns`).
So one failed listing page (a 503 on page 10) no longer leaves a permanent gap: that run's walk goes on
past it (the spider follows the next pagination link), the column is recorded as incomplete, and the next
run walks on until it reaches the last complete point again, fetching what the gap hid. A column never
walked whole is walked to its end (or the profile's max_pages_per_column). `NEWSCRAWLER_BACKFILL` walks
every column to its end; `NEWSCRAWLER_RECHECK` fetches known articles again (so an edit becomes a version)
but still skips dead links.

Article pages that failed for a reason that may pass (HTTP 5xx, a timeout, a reset, a failed 下一页
continuation, an error in a pipeline) are kept on the column's retry list and fetched again at the start
of the next run, up to MAX_ARTICLE_TRIES runs. Article links that answer 404/410 are remembered as dead.
Incomplete columns are reported per portal in the run record (`perPortal.<site>.incomplete_columns`) until
they are whole.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import scrapy
from itemadapter import ItemAdapter
from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler
from scrapy.http import Response

from newscrawler import signals
from newscrawler.extensions.store import require_run, store_lost, store_of
from newscrawler.store import Store, StoreError
from newscrawler.store.connection import reason as failure_reason

logger = logging.getLogger(__name__)

LISTING_KINDS = ("home", "column")
# An article page that keeps failing is given up after this many runs (recorded as an error each time).
MAX_ARTICLE_TRIES = 5
# Failed listing pages remembered per column while it is incomplete (the newest kept).
MAX_GAPS = 20


def _known(store: Store, urls: list[str]) -> tuple[set[str], set[str]]:
    """(stored, dead) among the URLs; runs on the store's reader thread, once per listing page."""
    stored = store.articles.known(urls)
    return stored, store.links.dead(u for u in urls if u not in stored)


@dataclass
class Walk:
    """One column's walk in this run."""

    column: str
    site: str
    # The first page's article links of the last whole walk (None: never walked whole).
    anchor: frozenset[str] | None
    top: list[str] | None = None
    reached: bool = False
    pages: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    # "caught up" (nothing new at or past the last complete point), "end" (no further page, or the
    # profile's page limit); None while walking, or when it ended on a failed page.
    ended: str | None = None

    def whole(self, run_finished: bool) -> bool:
        return run_finished and not self.failed and self.ended is not None and self.top is not None


class IncrementalCrawl:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.backfill = crawler.settings.getbool("NEWSCRAWLER_BACKFILL")
        self.recheck = crawler.settings.getbool("NEWSCRAWLER_RECHECK")
        # canonical URL → the listing it was first scheduled from
        self.scheduled: dict[str, str | None] = {}
        self.dead_links: dict[str, int] = {}
        # The stored state of every listing of the portals crawled (None: not loaded, nothing is saved).
        self.states: dict[str, dict[str, Any]] | None = None
        self.listings: dict[str, str] = {}  # listing URL → site
        self.walks: dict[str, Walk] = {}
        self.fetched: set[str] = set()
        self.failed_articles: dict[str, dict[str, Any]] = {}
        self.settled = False
        crawler.signals.connect(self.fetch_failed, signal=signals.fetch_failed)
        crawler.signals.connect(self.item_error, signal=scrapy_signals.item_error)
        crawler.signals.connect(self.run_closing, signal=signals.run_closing)
        crawler.signals.connect(self.spider_closed, signal=scrapy_signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalCrawl:
        require_run(crawler)  # only a crawl run reads or writes the database
        return cls(crawler)

    # -- the start: the spider's listings, then the article pages to fetch again -----------------------

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        spider = self.crawler.spider
        # Only a crawl walks columns (the import and reprocess spiders fetch no listing).
        profiles = (getattr(spider, "profiles", None) or {}) if hasattr(spider, "article_request") else {}
        self.listings = {u: p.site for p in profiles.values() for u in (*p.start_urls, *p.column_urls)}
        if self.listings:
            store = store_of(self.crawler)
            try:
                self.states = await store.in_reader(store.columns.load, list(self.listings))
            except StoreError as exc:
                logger.error("%s; every column is walked to its end and no column state is kept this run", exc)
        async for out in start:
            yield out
        for listing, state in (self.states or {}).items():
            for entry in state.get("retry") or ():
                if entry["key"] in self.scheduled or state.get("site") not in profiles:
                    continue
                self.scheduled[entry["key"]] = listing
                self.crawler.stats.inc_value(f"portal/{state['site']}/article_retries")
                yield spider.article_request(state["site"], entry["url"], entry["key"], listing)

    # -- each listing page: what to fetch, and whether the walk goes on -------------------------------

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        kind = response.meta.get("kind")
        answered = 200 <= response.status < 300  # else this is the output of an errback (HttpError)
        if kind not in LISTING_KINDS or not answered:
            if kind == "article" and answered and not response.meta.get("pages"):
                self.fetched.add(response.meta.get("linked"))
            async for out in result:
                yield out
            return
        outputs = [out async for out in result]
        articles = {id(r): r for r in outputs if isinstance(r, scrapy.Request) and r.meta.get("kind") == "article"}
        keys = [r.meta["linked"] for r in articles.values()]
        store = store_of(self.crawler)
        try:
            stored, dead = await store.in_reader(_known, store, keys) if keys else (set(), set())
        except StoreError as exc:
            store_lost(self.crawler, store, exc)  # the crawl stops: nothing more from this page
            return
        stats = self.crawler.stats
        stats.inc_value("listing/article_links", len(set(keys)))
        stats.inc_value("listing/article_links_known", len(stored | dead))
        # The walk's decision is a normal run's, --recheck or not.
        brought_new = any(k not in stored and k not in dead for k in keys)
        walk_on = True
        walk = None
        if kind == "column":
            walk = self._walk(response.meta["column"], response.meta["site"])
            walk.pages += 1
            if walk.top is None and not response.meta.get("page"):
                walk.top = list(dict.fromkeys(keys))
            if walk.anchor is not None and walk.anchor.intersection(keys):
                walk.reached = True
            walk_on = self.backfill or brought_new or not walk.reached
        skip = dead if self.recheck else stored | dead
        went_on = False
        for out in outputs:
            if id(out) in articles:
                key = out.meta["linked"]
                if key in skip or key in self.scheduled:
                    continue
                self.scheduled[key] = response.meta.get("column")
            elif isinstance(out, scrapy.Request) and out.meta.get("kind") == "column":
                if not walk_on:
                    continue
                went_on = True
            yield out
        if walk is not None and not went_on:
            walk.ended = "end" if walk_on else "caught up"
            self._report(walk.site)

    def _walk(self, column: str, site: str) -> Walk:
        walk = self.walks.get(column)
        if walk is None:
            state = (self.states or {}).get(column) or {}
            anchor = state.get("anchor")
            walk = self.walks[column] = Walk(column, site, frozenset(anchor) if anchor is not None else None)
        return walk

    # -- failures ---------------------------------------------------------------------------------------

    def fetch_failed(self, url: str, kind: str, reason: str, site: str | None = None, status: int | None = None,
                     linked: str | None = None, continuation: bool = False, column: str | None = None,
                     page: int | None = None, **_: Any) -> None:
        if kind == "column" and column and site:
            walk = self._walk(column, site)
            walk.failed.append({"url": url, "page": page, "reason": reason, "at": datetime.now(UTC)})
            self._report(site)
        elif kind == "article" and linked:
            if status in (404, 410) and not continuation:
                self.dead_links[linked] = status
            elif status is None or status >= 500 or status in (408, 429) or continuation:
                # A continuation failed: the article was kept with its first pages; fetch it whole again.
                self.failed_articles[linked] = {"url": linked if continuation else url, "key": linked, "site": site,
                                                "reason": reason, "column": column or self.scheduled.get(linked)}

    def item_error(self, item: Any, response: Response, spider: scrapy.Spider, failure: Any) -> None:
        """A pipeline raised on the item (not a counted drop): fetch the page again next run."""
        key = (ItemAdapter(item).get("urls") or [None])[0]
        if key:
            self.failed_articles[key] = {"url": ItemAdapter(item).get("url") or key, "key": key,
                                         "site": ItemAdapter(item).get("site"),
                                         "reason": f"{failure.type.__name__}: {failure.getErrorMessage()}",
                                         "column": response.meta.get("column") or self.scheduled.get(key)}

    # -- the end: save each listing's state, report the incomplete columns ----------------------------

    def _report(self, site: str, run_finished: bool | None = None) -> None:
        """The portal's columns not whole (so far, or at the end of the run), as the run record shows them."""
        report = []
        for walk in self.walks.values():
            incomplete = (walk.failed or walk.ended is None) if run_finished is None else not walk.whole(run_finished)
            if walk.site == site and incomplete:
                report.append({"column": walk.column, "failedPages": [f["url"] for f in walk.failed],
                               "why": _why(walk, run_finished is not False)})
        self.crawler.stats.set_value(f"portal/{site}/incomplete_columns", report)

    def run_closing(self, reason: str) -> None:
        self._settle(reason)

    def spider_closed(self, reason: str = "finished") -> None:
        self._settle(reason)

    def _settle(self, reason: str) -> None:
        if self.settled:
            return
        self.settled = True
        store = store_of(self.crawler)
        if store.lost:
            # Nothing can be saved; the state stays as the last run left it, so the next run walks every
            # column on to its last complete point and fetches what this one could not store.
            logger.warning("the column state is not saved (the database is gone)")
            return
        if self.dead_links:
            try:
                store.links.record_dead(self.dead_links)
            except StoreError as exc:
                logger.error("could not record %d dead links: %s", len(self.dead_links), failure_reason(exc))
        if self.states is None:
            return
        finished = reason == "finished" and not self.crawler.stats.get_value("store/errors")
        now = datetime.now(UTC)
        for site in {w.site for w in self.walks.values()}:
            self._report(site, finished)
        changed = []
        for listing, site in self.listings.items():
            old = self.states.get(listing)
            doc = dict(old) if old else {"_id": listing, "site": site, "whole": False, "anchor": None,
                                         "wholeAt": None, "incompleteSince": None, "gaps": [], "retry": []}
            walk = self.walks.get(listing)
            if walk is not None:
                doc["lastWalk"] = {"at": now, "pages": walk.pages, "ended": walk.ended or "failed",
                                   "failed": walk.failed, "runFinished": finished}
                if walk.whole(finished):
                    doc.update(whole=True, anchor=walk.top, wholeAt=now, incompleteSince=None, gaps=[])
                else:
                    doc.update(whole=False, incompleteSince=doc.get("incompleteSince") or now,
                               gaps=(list(doc.get("gaps") or []) + walk.failed)[-MAX_GAPS:])
                    logger.warning("column %s of %s is incomplete: %s; the next run walks on to its last complete "
                                   "point", listing, site, _why(walk, finished))
            doc["retry"] = self._retry_list(listing, doc.get("retry") or [], now)
            if doc["retry"] or old is not None or walk is not None:
                changed.append(doc)
        try:
            store.columns.save(changed)
        except StoreError as exc:
            logger.error("%s; the next run walks the columns as if this run had not happened", exc)

    def _listing_of(self, failure: dict[str, Any]) -> str | None:
        """The listing an article failure is kept under: where it was linked from, else its portal's first."""
        if failure.get("column") in self.listings:
            return failure["column"]
        return next((u for u, s in self.listings.items() if s == failure.get("site")), None)

    def _retry_list(self, listing: str, old: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
        """The listing's article pages to fetch again next run: those that failed again (one more try), those
        not reached this run, and this run's new failures; a page that came is done."""
        out: dict[str, dict[str, Any]] = {}
        for entry in old:
            key = entry["key"]
            failure = self.failed_articles.pop(key, None)
            if failure is not None:
                entry = {**entry, "reason": failure["reason"], "tries": entry.get("tries", 1) + 1, "lastFailed": now}
            elif key in self.fetched:
                continue
            if entry.get("tries", 1) >= MAX_ARTICLE_TRIES:
                logger.error("giving up on %s after %d failed runs: %s", entry["url"], entry["tries"], entry["reason"])
                self.crawler.stats.inc_value(f"portal/{self.listings[listing]}/articles_given_up")
                continue
            out[key] = entry
        for key, failure in list(self.failed_articles.items()):
            if self._listing_of(failure) == listing:
                del self.failed_articles[key]
                out.setdefault(key, {"url": failure["url"], "key": key, "reason": failure["reason"], "tries": 1,
                                     "firstFailed": now, "lastFailed": now})
        return list(out.values())


def _why(walk: Walk, run_finished: bool = True) -> str:
    if walk.failed:
        pages = ", ".join(f"{f['url']} ({f['reason']})" for f in walk.failed[:3])
        more = f" and {len(walk.failed) - 3} more" if len(walk.failed) > 3 else ""
        return f"listing page(s) failed: {pages}{more}"
    if walk.ended is None or not run_finished:
        return "the run ended before the walk reached the last complete point"
    return "walked whole"
