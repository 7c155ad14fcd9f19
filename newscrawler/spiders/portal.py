"""The one portal spider: driven by portal profiles (data), never subclassed per portal.

It only discovers and fetches. From each portal's home and column pages it yields a request for every
article link matching the profile's pattern and for the column's next page; article pages go through
the extractor, and "下一页" continuations are fetched and merged into one article. What need not be
fetched (articles already stored, dead links, the rest of a column once a page brings nothing new) is
decided by the IncrementalCrawl spider middleware (newscrawler/middlewares.py), not here.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response
from twisted.python.failure import Failure

from newscrawler import signals
from newscrawler.extensions.extraction import WorkerLost, extract_page
from newscrawler.extract import Article, ExtractionError, extract, merge_pages
from newscrawler.normalise.urls import canonical_url
from newscrawler.profiles import PortalProfile, ProfileError, load_profiles, profile_for_url, select_profiles

MAX_ARTICLE_PAGES = 20
# Column pages are walked one after another (each decides whether to go on), so they jump the queue of
# article pages: otherwise the walk's tail leaves the crawl with little to fetch in parallel.
LISTING_PRIORITY = 10
LISTING_KINDS = ("home", "column")
# Later pagination links a column page request carries, so the walk can go on past a page that fails.
MAX_LATER_PAGES = 10
_PAGE_NUMBER = re.compile(r"(\d+)(?=\D*$)")


def page_number(url: str) -> int:
    """The page number a pagination URL carries (index_3.shtml → 3, /4.html → 4)."""
    match = _PAGE_NUMBER.search(url.rsplit("/", 1)[-1])
    return int(match.group(1)) if match else 0


def _flag(value: str | bool) -> bool:
    return str(value).lower() in ("1", "true", "yes")


class PortalSpider(scrapy.Spider):
    name = "portal"

    def __init__(self, site: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        sites = [s for s in (site or "").split(",") if s] or None
        broken: list[ProfileError] = []
        self.profiles: dict[str, PortalProfile] = {p.site: p for p in select_profiles(sites, broken=broken)}
        for exc in broken:  # one broken profile does not stop the others
            self.logger.error("%s; that portal is left out", exc)
        # Scrapy's offsite filtering for requests without a portal (`scrapy fetch/shell --spider=portal`);
        # a portal's own requests are held to its own hosts by newscrawler.offsite.PortalOffsite.
        self.allowed_domains = sorted({h for p in self.profiles.values() for h in p.hosts})

    @classmethod
    def handles_request(cls, request: scrapy.Request) -> bool:
        """Any portal URL is this spider's, so `scrapy shell/parse/fetch/view URL` pick it without --spider
        (its subclasses, such as reprocess, which fetches nothing, do not claim them: one spider must)."""
        return cls.name == PortalSpider.name and profile_for_url(request.url, load_profiles()) is not None

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any) -> PortalSpider:
        # `-a backfill=1` / `-a recheck=1` on `scrapy crawl` mean the same as the settings.
        for arg, setting in (("backfill", "NEWSCRAWLER_BACKFILL"), ("recheck", "NEWSCRAWLER_RECHECK")):
            if arg in kwargs:
                crawler.settings.set(setting, _flag(kwargs.pop(arg)), priority="spider")
        return super().from_crawler(crawler, *args, **kwargs)

    @classmethod
    def update_settings(cls, settings) -> None:
        """Each portal's politeness as its download slot (keyed by site), set while the settings can still
        change (`scrapy shell` makes the spider only after they are frozen)."""
        super().update_settings(settings)
        if not settings.getbool("NEWSCRAWLER_IGNORE_POLITENESS"):
            slots = dict(settings.getdict("DOWNLOAD_SLOTS"))
            for p in load_profiles().values():
                slots.setdefault(p.site, {"concurrency": p.politeness.concurrent_requests,
                                          "delay": p.politeness.download_delay})
            settings.set("DOWNLOAD_SLOTS", slots, priority="spider")

    def _meta(self, profile: PortalProfile, kind: str, **extra: Any) -> dict[str, Any]:
        """The request meta this spider owns: never a copy of a response's meta (Scrapy's keys would follow)."""
        meta = {"site": profile.site, "kind": kind, "download_slot": profile.site, **extra}
        if not profile.politeness.obey_robots:
            meta["dont_obey_robotstxt"] = True
        if not profile.politeness.autothrottle:
            meta["autothrottle_dont_adjust_delay"] = True
        return meta

    async def start(self):
        for profile in self.profiles.values():
            for kind, urls in (("home", profile.start_urls), ("column", profile.column_urls)):
                for url in urls:
                    yield self._listing(profile, url, kind, 0, column=url)

    def _listing(self, profile: PortalProfile, url: str, kind: str, page: int, column: str,
                 later: list[tuple[int, str]] = ()) -> scrapy.Request:
        """A home or column page; `column` is the listing's first URL (the column a walk belongs to), `later`
        the further pagination links seen, in page order, to go on with if this page fails."""
        self.crawler.stats.inc_value(f"portal/{profile.site}/listing_requests")
        return scrapy.Request(url, callback=self.parse_listing, errback=self.on_listing_error, dont_filter=True,
                              priority=LISTING_PRIORITY,
                              meta=self._meta(profile, kind, page=page, column=column, later=list(later)))

    def article_request(self, site: str, url: str, linked: str, column: str | None) -> scrapy.Request:
        """An article page, linked as `linked` (its canonical URL) from the listing `column`."""
        return scrapy.Request(url, callback=self.parse_article, errback=self.on_error,
                              meta=self._meta(self.profiles[site], "article", linked=linked, pages=[], column=column))

    def parse(self, response: Response):
        """A page reached without this spider's meta (`scrapy parse URL`, `scrapy shell`'s fetch): an article
        page of its portal is parsed as one, any other page as a listing page."""
        profile = self._profile(response)
        if profile is not None and profile.is_article_url(response.url):
            return self.parse_article_in_place(response)
        return self.parse_listing(response)

    def _profile(self, response: Response) -> PortalProfile | None:
        site = response.meta.get("site")
        if site in self.profiles:
            return self.profiles[site]
        return profile_for_url(response.url, self.profiles)

    def _profile_or_skip(self, response: Response) -> PortalProfile | None:
        profile = self._profile(response)
        if profile is None:
            self.logger.warning("%s belongs to no portal profile (%s): nothing to parse", response.url,
                                ", ".join(self.profiles) or "none loaded")
        return profile

    def parse_listing(self, response: Response):
        """Every article link of a home or column page, and the column's next page (the middleware decides
        which of them are fetched)."""
        profile = self._profile_or_skip(response)
        if profile is None:
            return
        site = profile.site
        kind = response.meta.get("kind") or ("home" if response.url in profile.start_urls else "column")
        page = response.meta.get("page", page_number(response.url) if profile.is_pagination_url(response.url) else 0)
        self.crawler.stats.inc_value(f"portal/{site}/listing_pages")
        article_links: dict[str, str] = {}
        pagination: list[str] = []
        for href in response.css("a::attr(href)").getall():
            href = href.strip()
            if not href or href.startswith(("javascript:", "mailto:", "#")):
                continue
            url = urljoin(response.url, href)
            if not profile.owns_url(url):
                continue  # another host: never the portal's article or page, whatever its path looks like
            if profile.is_article_url(url):
                article_links.setdefault(canonical_url(url, profile), url)
            elif kind == "column" and profile.is_pagination_url(url):
                pagination.append(url)
        self.crawler.stats.inc_value(f"portal/{site}/article_links", len(article_links))
        column = response.meta.get("column") or response.url
        for key, url in article_links.items():
            yield self.article_request(site, url, key, column)
        later = sorted({page_number(u): u for u in pagination if page_number(u) > max(page, 0)}.items())
        if kind == "column" and later and page + 1 < profile.max_pages_per_column:
            yield self._listing(profile, later[0][1], "column", later[0][0], column, later[1:MAX_LATER_PAGES + 1])

    async def parse_article(self, response: Response):
        """An article page or one of its continuation pages, extracted in the crawl's extraction process
        (newscrawler/extensions/extraction.py; in this process when there is none)."""
        profile = self._article_profile(response)
        if profile is None:
            return
        try:
            article = await extract_page(self.crawler, response.body, response.url, _headers(response), profile)
        except WorkerLost as exc:
            meta = response.meta
            self._failed(response.url, "article", str(exc), profile.site, linked=meta.get("linked") or
                         canonical_url(response.url, profile), continuation=bool(meta.get("pages")),
                         column=meta.get("column"))
            return
        except Exception as exc:  # noqa: BLE001 - one page's failure is recorded, never the crawl's end
            self._extraction_failed(response, profile, exc)
            return
        for output in self._after_extraction(response, profile, article):
            yield output

    def parse_article_in_place(self, response: Response):
        """The same, extracted in this process and as a plain generator: what `parse` gives `scrapy parse URL`
        and `scrapy shell` (`list(spider.parse(response))`)."""
        profile = self._article_profile(response)
        if profile is None:
            return
        try:
            article = extract(response.body, response.url, headers=_headers(response), profile=profile)
        except Exception as exc:  # noqa: BLE001 - one page's failure is recorded, never the crawl's end
            self._extraction_failed(response, profile, exc)
            return
        yield from self._after_extraction(response, profile, article)

    def _article_profile(self, response: Response) -> PortalProfile | None:
        profile = self._profile_or_skip(response)
        if profile is not None:
            self.crawler.stats.inc_value(f"portal/{profile.site}/article_pages")
        return profile

    def _extraction_failed(self, response: Response, profile: PortalProfile, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, ExtractionError) else f"{type(exc).__name__}: {exc}"
        self._failed(response.url, "extraction", reason, profile.site)
        self.crawler.stats.inc_value(f"item_dropped_reasons/{type(exc).__name__}")

    def _after_extraction(self, response: Response, profile: PortalProfile, article: Article):
        """The next continuation page to fetch, or the article (its pages merged) once it has them all."""
        pages = response.meta.get("pages", []) + [article]
        linked = response.meta.get("linked") or canonical_url(response.url, profile)
        nxt = article.nextPage
        if nxt and nxt not in {p.url for p in pages} and len(pages) < MAX_ARTICLE_PAGES and profile.owns_url(nxt):
            yield scrapy.Request(nxt, callback=self.parse_article, errback=self.on_continuation_error,
                                 meta=self._meta(profile, "article", linked=linked, pages=pages,
                                                 column=response.meta.get("column")))
            return
        item = merge_pages(pages) if len(pages) > 1 else article
        yield self._item(item, profile, linked, response.status)

    def on_listing_error(self, failure: Failure):
        """A listing page failed: record it, and walk on to the next pagination link the previous page showed
        (the IncrementalCrawl middleware remembers the gap and has the next run walk over it again). Errback
        output bypasses spider middlewares, so the walk goes on unconditionally here: the failed page was one
        the middleware had decided to fetch."""
        self.on_error(failure)
        meta = failure.request.meta
        profile = self.profiles[meta["site"]]
        later = [tuple(p) for p in meta.get("later") or ()]
        if meta["kind"] == "column" and later and meta["page"] + 1 < profile.max_pages_per_column:
            yield self._listing(profile, later[0][1], "column", later[0][0], meta["column"], later[1:])

    def on_continuation_error(self, failure: Failure):
        """A continuation page failed: keep what the earlier pages had rather than lose the article."""
        self.on_error(failure)
        meta = failure.request.meta
        item = self._item(merge_pages(meta["pages"]), self.profiles[meta["site"]], meta["linked"], None)
        item.incomplete = True
        yield item

    def _item(self, article: Article, profile: PortalProfile, linked: str, status: int | None) -> Article:
        article.nextPage = None
        article.site = profile.site
        article.fetchedAt = datetime.now(UTC)
        article.urls = list(dict.fromkeys([linked, canonical_url(article.url, profile)]))
        article.httpStatus = status
        return article

    def on_error(self, failure: Failure) -> None:
        request = failure.request
        status = getattr(getattr(failure.value, "response", None), "status", None)
        reason = f"HTTP {status}" if status else f"{failure.type.__name__}: {failure.getErrorMessage()}"
        kind = request.meta.get("kind") or "article"
        if kind in LISTING_KINDS:
            self.crawler.stats.inc_value(f"portal/{request.meta['site']}/listing_failures")
        self._failed(request.url, kind, reason, request.meta.get("site"), status, linked=request.meta.get("linked"),
                     continuation=bool(request.meta.get("pages")), column=request.meta.get("column"),
                     page=request.meta.get("page"))

    def _failed(self, url: str, kind: str, reason: str, site: str | None, status: int | None = None,
                **extra: Any) -> None:
        self.crawler.stats.inc_value(f"errors/{kind}")
        if site:
            self.crawler.stats.inc_value(f"portal/{site}/errors")
        level = logging.ERROR if kind == "extraction" else logging.WARNING
        self.logger.log(level, "%s failed: %s (%s)", "extraction" if kind == "extraction" else "fetch", url, reason)
        self.crawler.signals.send_catch_log(signals.fetch_failed, url=url, kind=kind, reason=reason, site=site,
                                            status=status, **extra)


def _headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in response.headers.items()}
