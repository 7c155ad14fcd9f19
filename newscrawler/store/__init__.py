"""The store: the one package that talks to MongoDB. Every query, index and bulk write lives here, in
rooms of one collection each; the spider's middleware, the pipelines, the CLI and the web view call them.

    store = Store.open()              # MONGO_URI, else the embedded server under the data directory
    store.articles                    # articles.py: writes with versions, look-ups by URL
    store.listing                     # listing.py: the article list (filters, pages, streams for export)
    store.counters                    # stats.py: articles per day, hour, portal, script; field coverage
    store.search                      # search.py: the search index (SQLite FTS5 next to the data directory)
    store.runs                        # runs.py: crawl_runs records
    store.links                       # links.py: dead links
    store.fingerprints                # fingerprints.py: dedup's fingerprints and story clusters
    store.health                      # health.py: each portal's health state and judged history
    store.meta                        # meta.py: the store's id, whether counters and index are whole

The same pymongo code serves the embedded default (a SecantusDB daemon on 127.0.0.1, see server.py) and
a real MongoDB given as MONGO_URI. The Scrapy side (one store per crawl) is newscrawler.extensions.store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pymongo

from newscrawler import config
from newscrawler.store.articles import ArticleRoom, WriteCounts
from newscrawler.store.connection import StoreError, connect, naming_database, redact_uri
from newscrawler.store.filters import ArticleFilter
from newscrawler.store.fingerprints import FingerprintRoom
from newscrawler.store.health import HealthRoom
from newscrawler.store.links import LinkRoom
from newscrawler.store.listing import Listing
from newscrawler.store.meta import MetaRoom
from newscrawler.store.runs import RunRoom
from newscrawler.store.search import SearchIndex
from newscrawler.store.server import EmbeddedServer
from newscrawler.store.stats import COVERAGE, StatsRoom, Tally, facts_of

T = TypeVar("T")


# What `db reindex` reads of each article: what the counters and the search index are made of.
REINDEX_FIELDS = {**{k: 1 for k in COVERAGE}, "canonicalUrl": 1, "headline": 1, "articleBody": 1, "site": 1,
                  "script": 1, "source": 1, "editor": 1, "authors": 1, "datePublished": 1, "_id": 0}


# Articles `db reindex` reads at a time (its memory follows this, ~5 KB each).
REINDEX_WINDOW = 2000


class Store:
    def __init__(self, client: pymongo.MongoClient, db_name: str, uri: str,
                 server: EmbeddedServer | None = None, search_path: str | Path | None = None):
        """`search_path`: the search index's file (Store.open puts it under the data directory); None gives
        a private temporary one, for tests."""
        self.client = client
        self.db_name = db_name
        self.db = client[db_name]
        self.uri = uri
        self.server = server
        self.meta = MetaRoom(self.db)
        self.counters = StatsRoom(self.db)
        self.search = SearchIndex(search_path)
        self.articles = ArticleRoom(self.db["articles"], self.display_uri, self.counters, self.search)
        self.listing = Listing(self.articles, self.counters, self.search)
        self.runs = RunRoom(self.db["crawl_runs"], self.display_uri)
        self.links = LinkRoom(self.db["dead_links"])
        self.fingerprints = FingerprintRoom(self.db)
        self.health = HealthRoom(self.db, self.display_uri)
        # Blocking pymongo calls made from the crawl run here, off the reactor thread, so fetching goes
        # on while the database answers. One writer thread keeps batches in order; look-ups have their own.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-write")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-read")

    @classmethod
    def open(cls, uri: str | None = None, data_dir: str | Path | None = None,
             db_name: str | None = None) -> Store:
        """Connect to MONGO_URI (or `uri`), else to the embedded server on the data directory, starting it
        when none runs there; make sure the indexes exist. Fails within seconds, without the password."""
        client, uri, server = connect(uri, data_dir)
        db_name = db_name or config.database_name()
        search_path = config.data_dir(data_dir) / "search" / f"{db_name}.sqlite3"
        try:
            store = cls(client, db_name, uri, server, search_path)
            store.ensure_indexes()
        except pymongo.errors.PyMongoError as exc:
            client.close()
            if server:
                server.stop()
            raise StoreError(f"preparing the database at {redact_uri(uri)} failed: {exc}") from None
        return store

    def ensure_indexes(self) -> None:
        empty = None
        if "articles" not in self.db.list_collection_names():
            empty = True
        for room in (self.articles, self.runs, self.links, self.fingerprints, self.health, self.counters,
                     self.meta):
            room.ensure_indexes()
        self._claim_derived(empty)

    def _claim_derived(self, empty: bool | None) -> None:
        """A store that has no article yet has complete counters and search index from its first write on;
        one that has articles but no counters (made by an older newscrawler) or no index here (another
        machine's data directory) needs `db reindex` once (crawl and import run it themselves)."""
        store_id = self.meta.store_id()
        counters_ok = self.meta.counters_complete()
        search_ok = self.search.is_complete_for(store_id)
        if counters_ok and search_ok:
            return
        if empty is None:
            # A count reads every document on the embedded server; this runs only while something is missing.
            empty = self.articles.collection.estimated_document_count() == 0
        if not counters_ok and empty:
            self.meta.set_counters_complete(True)
        if not search_ok:
            self.search.claim(store_id, complete=empty)

    def needs_reindex(self) -> list[str]:
        """What is not whole yet: "counters", "search index" (empty when nothing is missing)."""
        missing = []
        if not self.meta.counters_complete():
            missing.append("counters")
        if not self.search.is_complete_for(self.meta.store_id()):
            missing.append("search index")
        return missing

    def reindex(self, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Recount every article and rebuild the search index from the articles, reading them a window of
        publication dates at a time (flat memory; no count or sort over the collection)."""
        started = time.monotonic()
        total = self.articles.collection.estimated_document_count()
        store_id = self.meta.store_id()
        self.meta.set_counters_complete(False)
        self.search.claim(store_id, complete=False)
        self.search.clear()
        self.search.claim(store_id, complete=False)
        tally = Tally()
        seen = 0
        for docs in self._all_articles(total):
            tally.add(facts_of(d) for d in docs)
            self.search.write(docs)
            seen += len(docs)
            if progress and docs:
                progress(f"{seen:,} of {total:,} articles")
        self.counters.replace_all(tally)
        self.meta.set_counters_complete(True)
        self.search.optimize()
        self.search.claim(store_id, complete=True)
        return {"articles": seen, "seconds": round(time.monotonic() - started, 1)}

    def _all_articles(self, total: int) -> Iterator[list[dict[str, Any]]]:
        """Every article, in lists of about REINDEX_WINDOW: undated ones, dates ahead of now, then windows of
        the date index walking back, each sized from the last one's density (an empty one doubles, up to
        30 days), until `total` were seen."""
        coll = self.articles.collection
        now = datetime.now(UTC)
        seen = 0
        for query in ({"datePublished": None}, {"datePublished": {"$gte": now}}):
            docs = list(coll.find(query, REINDEX_FIELDS))
            seen += len(docs)
            yield docs
        end, span = now, timedelta(days=1)
        oldest = datetime(1800, 1, 1, tzinfo=UTC)
        while seen < total and end > oldest:
            start = max(end - span, oldest)
            docs = list(coll.find({"datePublished": {"$gte": start, "$lt": end}}, REINDEX_FIELDS))
            seen += len(docs)
            yield docs
            factor = 2.0 if not docs else min(2.0, max(0.25, REINDEX_WINDOW / len(docs)))
            span = min(max(span * factor, timedelta(minutes=10)), timedelta(days=30))
            end = start

    @property
    def display_uri(self) -> str:
        """The URI without its password, naming the database (mongosh lands in `test` without one)."""
        return naming_database(redact_uri(self.uri), self.db_name)

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """URLs a crawl need not fetch: stored articles (by any URL they were reached by) and links that
        were dead when last tried."""
        wanted = list(dict.fromkeys(urls))
        known = self.articles.known(wanted)
        return known | self.links.dead(u for u in wanted if u not in known)

    def stats(self, days: int = 30) -> dict[str, Any]:
        """Article total, counts per portal and per publication day (the latest `days` days that have
        articles, in the display zone), the last run — from the counters."""
        per_site = self.counters.totals()
        return {"articles": sum(per_site.values()), "perSite": per_site,
                "perDay": {d["day"]: d["n"] for d in self.listing.recent_days(days)},
                "lastRun": self.runs.last()}

    def newest(self, f: ArticleFilter | None = None, limit: int = 20,
               projection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.listing.page(f or ArticleFilter(), 0, limit, projection).docs

    async def in_writer(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store call on the writer thread and await it from the event loop."""
        return await asyncio.wrap_future(self._writer.submit(fn, *args, **kwargs))

    async def in_reader(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self._reader.submit(fn, *args, **kwargs))

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        self.search.close()
        self.client.close()
        if self.server:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["ArticleFilter", "Store", "StoreError", "WriteCounts", "naming_database", "redact_uri"]
