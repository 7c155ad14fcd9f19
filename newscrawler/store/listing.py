"""The article list: newest first, filtered, one page at a time or streamed whole (export) — the same order
either way, so an export of a filter is exactly what the console lists for it.

Two ways to answer, neither of which sorts or counts the collection:
- portal and date filters: the per-day counters (stats.py) say how many articles each month, day
  and hour holds, so page N is found by arithmetic and read from one narrow window of the indexed
  publication date. The embedded server never uses an index to satisfy a sort: it fetches every document
  in the queried range and sorts them (~70 µs each), so "newest 20 of the store" with a plain
  sort-and-limit took 37-39 s at 744,000 articles; a window holds a few hundred at most.
- a search, or a filter on an outlet, author, editor or script: the search index (search.py) gives the page's URLs
  in order, and the articles are read by their URL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import DESCENDING

from newscrawler.store.articles import ArticleRoom
from newscrawler.store.filters import ArticleFilter, day_of, day_start
from newscrawler.store.search import SearchIndex
from newscrawler.store.stats import ALL, UNDATED, StatsRoom

# What a list row shows; the article page reads the whole document.
ROW_FIELDS = {"canonicalUrl": 1, "headline": 1, "datePublished": 1, "site": 1, "source": 1, "authors": 1,
              "editor": 1, "script": 1, "cluster": 1, "dateTrusted": 1, "_id": 0}
ORDER = [("datePublished", DESCENDING), ("canonicalUrl", DESCENDING)]
# A day with more articles than this is read an hour at a time.
HOUR_SPLIT = 200
# Searches count their hits up to here and say "10,000+" beyond: counting every row that holds a common
# character would read all of them.
SEARCH_COUNT_CAP = 10_000
URL_CHUNK = 200


@dataclass
class Page:
    docs: list[dict[str, Any]]
    offset: int
    limit: int
    total: int
    # True when `total` is a lower bound (a search stops counting at SEARCH_COUNT_CAP).
    total_capped: bool = False

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.docs) < self.total


@dataclass(frozen=True)
class _Window:
    start: datetime | None  # None: the undated articles
    end: datetime | None
    skip: int


class Listing:
    def __init__(self, articles: ArticleRoom, stats: StatsRoom, search: SearchIndex):
        self.articles = articles
        self.stats = stats
        self.search = search

    # -- pages and streams ----------------------------------------------------------------------------

    def page(self, f: ArticleFilter, offset: int = 0, limit: int = 20,
             projection: dict[str, Any] | None = ROW_FIELDS) -> Page:
        if f.needs_index:
            urls = self.search.page(f, offset, limit)
            docs = self._by_urls(urls, projection)
            capped_at = SEARCH_COUNT_CAP if f.q else None
            total = self.search.count(f, cap=capped_at)
            return Page(docs, offset, limit, max(total, offset + len(docs)),
                        total_capped=capped_at is not None and total >= capped_at)
        months = self._month_counts(f)
        total = sum(n for _, n in months)
        docs: list[dict[str, Any]] = []
        for window in self._windows(f, offset, months):
            docs += self._window_docs(f, window, projection, limit - len(docs))
            if len(docs) >= limit:
                break
        return Page(docs, offset, limit, total)

    def stream(self, f: ArticleFilter, projection: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every selected article in list order, read a window (or a chunk of URLs) at a time."""
        if f.needs_index:
            chunk: list[str] = []
            for url in self.search.iter_urls(f):
                chunk.append(url)
                if len(chunk) == URL_CHUNK:
                    yield from self._by_urls(chunk, projection)
                    chunk = []
            yield from self._by_urls(chunk, projection)
            return
        for window in self._windows(f, 0):
            yield from self._window_docs(f, window, projection, 0)

    def count(self, f: ArticleFilter) -> int:
        """How many articles the filter selects."""
        if f.needs_index:
            return self.search.count(f)
        return sum(n for _, n in self._month_counts(f))

    # -- the counters' arithmetic ---------------------------------------------------------------------

    def _range(self, f: ArticleFilter) -> tuple[str, str]:
        first = day_of(f.since) if f.since else ""
        last = day_of(f.until - timedelta(microseconds=1)) if f.until else UNDATED
        return first, last

    def _month_counts(self, f: ArticleFilter) -> list[tuple[str, int]]:
        """(month, articles) newest first, `undated` last; months cut by `since`/`until` counted by day."""
        first, last = self._range(f)
        dated = bool(f.since or f.until)
        per_month: dict[str, int] = defaultdict(int)
        for doc in self.stats.months(f.site or ALL, parts=()):
            month = doc["month"]
            if month == UNDATED:
                if not dated:
                    per_month[month] += doc.get("n", 0)
                continue
            if first[:7] <= month <= last[:7]:
                per_month[month] += doc.get("n", 0)
        for edge in {first[:7], last[:7]} & set(per_month):
            if edge == UNDATED:
                continue
            per_month[edge] = sum(n for _, n, _ in self._day_counts(f, edge))
        months = sorted((m for m in per_month if m != UNDATED), reverse=True)
        if UNDATED in per_month:
            months.append(UNDATED)
        return [(m, per_month[m]) for m in months if per_month[m] > 0]

    def _day_counts(self, f: ArticleFilter, month: str) -> list[tuple[str, int, dict[str, int]]]:
        """(day, articles, articles per hour) of one month within the filter's range, newest first."""
        first, last = self._range(f)
        lo, hi = max(first, f"{month}-01"), min(last, f"{month}-31")
        per_day: dict[str, int] = defaultdict(int)
        hours: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for doc in self.stats.days(f.site or ALL, lo, hi, parts=("hours",)):
            per_day[doc["day"]] += doc.get("n", 0)
            for hour, n in (doc.get("hours") or {}).items():
                hours[doc["day"]][hour] += n
        return [(d, per_day[d], hours[d]) for d in sorted(per_day, reverse=True) if per_day[d] > 0]

    def _windows(self, f: ArticleFilter, skip: int, months: list[tuple[str, int]] | None = None
                 ) -> Iterator[_Window]:
        """Narrow publication-time windows, newest first, starting where the `skip`-th article lies."""
        for month, n in self._month_counts(f) if months is None else months:
            if skip >= n:
                skip -= n
                continue
            if month == UNDATED:
                yield _Window(None, None, skip)
                return
            for day, day_n, hours in self._day_counts(f, month):
                if skip >= day_n:
                    skip -= day_n
                    continue
                start = day_start(day)
                if day_n > HOUR_SPLIT and hours:
                    for hour in sorted(hours, reverse=True):
                        if skip >= hours[hour]:
                            skip -= hours[hour]
                            continue
                        hour_start = start + timedelta(hours=int(hour))
                        yield _Window(hour_start, hour_start + timedelta(hours=1), skip)
                        skip = 0
                else:
                    yield _Window(start, start + timedelta(days=1), skip)
                    skip = 0

    def _window_docs(self, f: ArticleFilter, window: _Window, projection: dict[str, Any] | None,
                     limit: int) -> list[dict[str, Any]]:
        # {site, datePublished range} walks the (site, datePublished) index, {datePublished range} the date
        # index (SecantusDB's planner picks an index by the filter's shape; tests/test_listing.py checks it).
        if window.start is None:
            query: dict[str, Any] = {"datePublished": None}
        else:
            start = max(window.start, f.since) if f.since else window.start
            end = min(window.end, f.until) if f.until else window.end
            query = {"datePublished": {"$gte": start, "$lt": end}}
        if f.site:
            query = {"site": f.site, **query}
        cursor = self.articles.collection.find(query, projection).sort(ORDER).skip(window.skip)
        return list(cursor.limit(limit) if limit else cursor)

    def _by_urls(self, urls: list[str], projection: dict[str, Any] | None) -> list[dict[str, Any]]:
        return self.articles.by_urls(urls, projection)

    # -- what the portals page and db stats show -------------------------------------------------------

    def days(self, site: str | None = None, first: str = "", last: str = UNDATED,
             parts: tuple[str, ...] = ("hours", "scripts", "fields")) -> list[dict[str, Any]]:
        """Per-day counters of all portals (or of one), newest first: n and the `parts` asked for."""
        return _merge(self.stats.days(site or ALL, first, last, parts), "day")

    def months(self, site: str | None = None,
               parts: tuple[str, ...] = ("hours", "scripts", "fields")) -> list[dict[str, Any]]:
        return _merge(self.stats.months(site or ALL, parts), "month")

    def recent_by_site(self, count: int) -> tuple[str | None, dict[str, list[dict[str, Any]]], dict[str, str]]:
        """For the portals overview, in two or three reads: the newest publication day of the store, each
        portal's counters of the `count` days up to it (newest first), and each portal's newest day."""
        latest_month: dict[str, str] = {}
        for doc in self.stats.months(parts=()):
            if doc["month"] != UNDATED and doc.get("n", 0) > 0:
                latest_month[doc["site"]] = max(latest_month.get(doc["site"], ""), doc["month"])
        if not latest_month:
            return None, {}, {}
        newest_month = max(latest_month.values())
        last = max(d["day"] for d in self.stats.days(ALL, f"{newest_month}-01", f"{newest_month}-31", parts=())
                   if d.get("n", 0) > 0)
        first = (day_start(last) - timedelta(days=count - 1)).strftime("%Y-%m-%d")
        per_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for doc in self.stats.days(None, first, last, parts=()):
            if doc.get("n", 0) > 0:
                per_site[doc["site"]].append(doc)
        newest = {site: docs[0]["day"] for site, docs in per_site.items()}
        for site, month in latest_month.items():
            if site not in newest:
                newest[site] = self.stats.days(site, f"{month}-01", f"{month}-31", parts=())[0]["day"]
        return last, dict(per_site), newest

    def recent_days(self, count: int, site: str | None = None) -> list[dict[str, Any]]:
        """The latest `count` publication days that have articles (undated left out), newest first, read a
        month at a time."""
        out: list[dict[str, Any]] = []
        for month in self.months(site, parts=()):
            if month["month"] == UNDATED:
                continue
            out += self.days(site, f"{month['month']}-01", f"{month['month']}-31", parts=())
            if len(out) >= count:
                break
        return out[:count]


def _merge(docs: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for doc in docs:
        into = merged.setdefault(doc[key], {key: doc[key], "n": 0, "scripts": defaultdict(int),
                                            "fields": defaultdict(int), "hours": defaultdict(int)})
        into["n"] += doc.get("n", 0)
        for part in ("scripts", "fields", "hours"):
            for name, n in (doc.get(part) or {}).items():
                into[part][name] += n
    return [merged[k] for k in sorted(merged, reverse=True) if merged[k]["n"] > 0]
