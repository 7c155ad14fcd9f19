"""The one portal spider: driven by portal profiles (data), never subclassed per portal.

From each portal's home and column pages it follows article links that match the profile's pattern,
skipping articles already in the store (asked in one batch per listing page), and pages through a
column until a page brings nothing new (unless backfilling). Article pages go through the extractor;
"下一页" continuations are fetched and merged into one article.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from newscrawler.extract import ExtractionError, extract, merge_pages
from newscrawler.normalise.urls import canonical_url
from newscrawler.profiles import PortalProfile, select_profiles
from newscrawler.store import for_crawler

MAX_ARTICLE_PAGES = 20
# Column pages are walked one after another (each decides whether to go on), so they jump the queue of
# article pages: otherwise the walk's tail leaves the crawl with little to fetch in parallel.
LISTING_PRIORITY = 10
MAX_RECORDED_ERRORS = 200
_PAGE_NUMBER = re.compile(r"(\d+)(?=\D*$)")


def page_number(url: str) -> int:
    """The page number a pagination URL carries (index_3.shtml → 3, /4.html → 4)."""
    match = _PAGE_NUMBER.search(url.rsplit("/", 1)[-1])
    return int(match.group(1)) if match else 0


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, site: str | None = None, backfill: str | bool = False, recheck: str | bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        sites = [s for s in (site or "").split(",") if s] or None
        self.profiles: dict[str, PortalProfile] = {p.site: p for p in select_profiles(sites)}
        self.backfill = str(backfill).lower() in ("1", "true", "yes")
        self.recheck = str(recheck).lower() in ("1", "true", "yes")
        self.scheduled: set[str] = set()
        # Listing pages requested / failed per site: a portal whose every listing failed, failed outright.
        self.listings_requested: Counter[str] = Counter()
        self.listings_failed: Counter[str] = Counter()
        self.errors: list[dict[str, str]] = []
        self.dead_links: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.backfill = spider.backfill or crawler.settings.getbool("NEWSCRAWLER_BACKFILL")
        spider.recheck = spider.recheck or crawler.settings.getbool("NEWSCRAWLER_RECHECK")
        spider.store = for_crawler(crawler)
        if not crawler.settings.getbool("NEWSCRAWLER_IGNORE_POLITENESS"):
            slots = dict(crawler.settings.getdict("DOWNLOAD_SLOTS"))
            for p in spider.profiles.values():
                slots.setdefault(p.site, {"concurrency": p.politeness.concurrent_requests,
                                          "delay": p.politeness.download_delay})
            crawler.settings.set("DOWNLOAD_SLOTS", slots, priority="spider")
        return spider

    async def start(self):
        for profile in self.profiles.values():
            for url in profile.start_urls:
                yield self._listing(profile, url, "home", 0)
            for url in profile.column_urls:
                yield self._listing(profile, url, "column", 0)

    def _listing(self, profile: PortalProfile, url: str, kind: str, page: int) -> scrapy.Request:
        self.listings_requested[profile.site] += 1
        return scrapy.Request(url, callback=self.parse_listing, errback=self.on_error, dont_filter=True,
                              priority=LISTING_PRIORITY,
                              meta={"site": profile.site, "kind": kind, "page": page, "download_slot": profile.site})

    async def parse_listing(self, response: Response):
        site = response.meta["site"]
        profile = self.profiles[site]
        self.crawler.stats.inc_value(f"portal/{site}/listing_pages")
        article_links: dict[str, str] = {}
        pagination: list[str] = []
        for href in response.css("a::attr(href)").getall():
            href = href.strip()
            if not href or href.startswith(("javascript:", "mailto:", "#")):
                continue
            url = urljoin(response.url, href)
            if profile.is_article_url(url):
                article_links.setdefault(canonical_url(url, profile), url)
            elif response.meta["kind"] == "column" and profile.is_pagination_url(url):
                pagination.append(url)
        known = await self.store.in_reader(self.store.known_urls, list(article_links))
        self.crawler.stats.inc_value("listing/article_links", len(article_links))
        self.crawler.stats.inc_value(f"portal/{site}/article_links", len(article_links))
        self.crawler.stats.inc_value("listing/article_links_known", len(known))
        for key, url in article_links.items():
            # --recheck fetches known articles again (those on the pages walked), to catch edits.
            if (key in known and not self.recheck) or key in self.scheduled:
                continue
            self.scheduled.add(key)
            yield scrapy.Request(url, callback=self.parse_article, errback=self.on_error,
                                 meta={"site": site, "linked": key, "download_slot": site, "pages": []})
        if response.meta["kind"] != "column":
            return
        brought_new = len(article_links) > len(known)
        page = response.meta["page"]
        if not (brought_new or self.backfill) or page + 1 >= profile.max_pages_per_column:
            return
        later = sorted((page_number(u), u) for u in pagination if page_number(u) > max(page, 0))
        if later:
            self.listings_requested[site] += 1
            number, url = later[0]
            yield scrapy.Request(url, callback=self.parse_listing, errback=self.on_error,
                                 priority=LISTING_PRIORITY, meta={**response.meta, "page": number})

    def parse_article(self, response: Response):
        site = response.meta["site"]
        profile = self.profiles[site]
        self.crawler.stats.inc_value(f"portal/{site}/article_pages")
        try:
            article = extract(response.body, response.url, headers=_headers(response), profile=profile)
        except ExtractionError as exc:
            self._record_error(response.url, "extraction", str(exc), site)
            self.crawler.stats.inc_value(f"item_dropped_reasons/{type(exc).__name__}")
            return
        pages = response.meta["pages"] + [article]
        nxt = article.nextPage
        seen = {p.url for p in pages}
        if nxt and nxt not in seen and len(pages) < MAX_ARTICLE_PAGES and profile.owns_url(nxt):
            yield scrapy.Request(nxt, callback=self.parse_article, errback=self.on_article_page_error,
                                 meta={**response.meta, "pages": pages})
            return
        yield self._item(merge_pages(pages) if len(pages) > 1 else article, response, profile)

    def on_article_page_error(self, failure: Failure):
        """A continuation page failed: keep what the earlier pages had rather than lose the article."""
        self.on_error(failure)
        request = failure.request
        pages = request.meta["pages"]
        profile = self.profiles[request.meta["site"]]
        item = self._item(merge_pages(pages), None, profile, url=pages[0].url, linked=request.meta["linked"])
        item["incomplete"] = True
        yield item

    def _item(self, article, response: Response | None, profile: PortalProfile, *, url: str | None = None,
              linked: str | None = None) -> dict[str, Any]:
        item = article.to_dict()
        item.pop("nextPage", None)
        first_url = url or article.url
        linked = linked or response.meta["linked"]
        item.update(site=profile.site, url=first_url, fetchedAt=datetime.now(UTC),
                    urls=list(dict.fromkeys([linked, canonical_url(first_url, profile)])))
        if response is not None:
            item["httpStatus"] = response.status
        return item

    def on_error(self, failure: Failure) -> None:
        request = failure.request
        meta = request.meta
        if meta.get("kind") in ("home", "column"):
            self.listings_failed[meta["site"]] += 1
        status = getattr(getattr(failure.value, "response", None), "status", None)
        reason = f"HTTP {status}" if status else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        if status in (404, 410) and meta.get("linked") and not meta.get("pages"):
            self.dead_links[meta["linked"]] = status
        self._record_error(request.url, meta.get("kind") or "article", reason, meta.get("site"))
        self.logger.warning("fetch failed: %s (%s)", request.url, reason)

    def _record_error(self, url: str, kind: str, reason: str, site: str | None = None) -> None:
        self.crawler.stats.inc_value(f"errors/{kind}")
        if site:
            self.crawler.stats.inc_value(f"portal/{site}/errors")
        if len(self.errors) < MAX_RECORDED_ERRORS:
            self.errors.append({"url": url, "kind": kind, "error": reason})
        if kind == "extraction":
            self.logger.error("cannot extract %s: %s", url, reason)

    def closed(self, reason: str) -> None:
        self.store.record_dead_links(self.dead_links)

    def failed_portals(self) -> dict[str, str]:
        """Portals that failed outright, with why: none of their listing pages could be fetched, or the
        pages came but no link on them matched the profile's article pattern (the site has changed)."""
        stats = self.crawler.stats
        failed = {}
        for site, requested in self.listings_requested.items():
            if requested and self.listings_failed[site] >= requested:
                failed[site] = "no listing page could be fetched"
            elif not stats.get_value(f"portal/{site}/article_links"):
                failed[site] = (f"no link on its {stats.get_value(f'portal/{site}/listing_pages', 0)} listing "
                                f"page(s) matched article_url_pattern of {self.profiles[site].path}; "
                                "has the site's layout or URL scheme changed?")
        return dict(sorted(failed.items()))


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
