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
    store.bands                       # bands.py: dedup's band index (SQLite next to the data directory)
    store.columns                     # columns.py: how far each column was walked, what to fetch again
    store.health                      # health.py: each portal's health state and judged history
    store.meta                        # meta.py: the store's id, whether the counters are whole

The same pymongo code serves the embedded default (a SecantusDB daemon on 127.0.0.1, see server.py) and
a real MongoDB given as MONGO_URI. The Scrapy side (one store per crawl) is newscrawler.extensions.store.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pymongo
from pymongo.errors import PyMongoError

from newscrawler import config
from newscrawler.store.articles import ArticleRoom, WriteCounts
from newscrawler.store.bands import BandIndex
from newscrawler.store.columns import ColumnRoom
from newscrawler.store.connection import (
    SOCKET_TIMEOUT_MS,
    StoreConfigError,
    StoreError,
    connect,
    naming_database,
    reason,
    redact_uri,
)
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

# What a call into the store may raise: its own StoreError, or a driver error from a room that reads
# without wrapping (a console page, a spill load). Callers catch this and never import pymongo.
STORE_ERRORS: tuple[type[Exception], ...] = (StoreError, PyMongoError)


# What `db reindex` reads of each article: what the counters and the search index are made of.
REINDEX_FIELDS = {**{k: 1 for k in COVERAGE}, "canonicalUrl": 1, "headline": 1, "articleBody": 1, "site": 1,
                  "script": 1, "source": 1, "editor": 1, "authors": 1, "datePublished": 1, "_id": 0}


# What `db reindex` rebuilds, as Store.needs_reindex() names it, all in one pass over the articles (the dedup index
# from their fingerprints, looked up by `_id`).
DERIVED = ("counters", "search index", "dedup index")

# Articles `db reindex` reads at a time (its memory follows this, ~5 KB each).
REINDEX_WINDOW = 2000


class Store:
    def __init__(self, client: pymongo.MongoClient, db_name: str, uri: str,
                 server: EmbeddedServer | None = None, search_path: str | Path | None = None,
                 bands_path: str | Path | None = None):
        """`search_path`, `bands_path`: the search and band indexes' files (Store.open puts them under the data
        directory); None gives private temporary ones, for tests."""
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
        self.runs = RunRoom(self.db["crawl_runs"], self.display_uri, lost=lambda: self.lost)
        self.links = LinkRoom(self.db["dead_links"])
        self.bands = BandIndex(bands_path)
        self.fingerprints = FingerprintRoom(self.db, self.bands)
        self.columns = ColumnRoom(self.db["crawl_columns"], self.display_uri)
        self.health = HealthRoom(self.db, self.display_uri)
        # Blocking pymongo calls made from the crawl run here, off the reactor thread, so fetching goes
        # on while the database answers. One writer thread keeps batches in order; look-ups have their own.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-write")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-read")
        # Why the database is known to be gone (set by whoever notices first), else None.
        self.lost: str | None = None

    @classmethod
    def open(cls, uri: str | None = None, data_dir: str | Path | None = None,
             db_name: str | None = None, socket_timeout_ms: int = SOCKET_TIMEOUT_MS) -> Store:
        """Connect to MONGO_URI (or `uri`), else to the embedded server on the data directory, starting it
        when none runs there; make sure the indexes exist. Fails within seconds, without the password; an
        operation the server does not answer fails after `socket_timeout_ms`."""
        client, uri, server = connect(uri, data_dir, socket_timeout_ms=socket_timeout_ms)
        db_name = db_name or config.database_name()
        search_path = config.data_dir(data_dir) / "search" / f"{db_name}.sqlite3"
        bands_path = config.data_dir(data_dir) / "dedup" / f"{db_name}.sqlite3"
        try:
            store = cls(client, db_name, uri, server, search_path, bands_path)
        except BaseException:
            client.close()
            if server:
                server.stop()
            raise
        try:
            store.ensure_indexes()
        except PyMongoError as exc:
            store.close()
            raise StoreError(f"preparing the collections at {store.display_uri} failed: {reason(exc)}") from None
        return store

    # -- health: a crawl stops within seconds of losing the store -------------------------------------

    def mark_lost(self, why: str) -> bool:
        """Record that the database is gone (the first reason wins); True the first time. Work queued for
        the store's threads then fails at once instead of waiting for its own timeout."""
        if self.lost:
            return False
        self.lost = why
        # Every later call, whichever room makes it (the run record, the health monitors' history…), then
        # fails at once instead of waiting 5 s for a server selection that cannot succeed.
        self._close_client()
        return True

    def ping(self, timeout_s: float = 2.0) -> None:
        """Raise StoreError unless the server answers within `timeout_s` (a stalled server included). A
        server that is gone (every address refuses connections) is reported at once."""
        addresses = list(self.client.topology_description.server_descriptions())
        refused = 0
        for host, port in addresses:
            try:
                with socket.create_connection((host, port), timeout=timeout_s):
                    pass
            except ConnectionRefusedError:
                refused += 1
            except OSError:
                pass  # unreachable or slow: the ping below decides
        if addresses and refused == len(addresses):
            raise StoreError(f"the database at {self.display_uri} is gone: connection refused")
        try:
            with pymongo.timeout(timeout_s):
                self.client.admin.command("ping")
        except PyMongoError as exc:
            raise StoreError(f"the database at {self.display_uri} does not answer: {reason(exc)}") from None

    def ensure_indexes(self) -> None:
        empty = None
        if "articles" not in self.db.list_collection_names():
            empty = True
        for room in (self.articles, self.runs, self.links, self.fingerprints, self.columns, self.health,
                     self.counters, self.meta):
            room.ensure_indexes()
        self._claim_derived(empty)

    def _claim_derived(self, empty: bool | None) -> None:
        """A store that has no article yet has complete counters and indexes from its first write on; one that
        has articles but no counters (made by an older newscrawler) or no index here (another machine's data
        directory, or a version before the index) needs `db reindex` once (crawl and import run it themselves)."""
        store_id = self.meta.store_id()
        counters_ok = self.meta.counters_complete()
        search_ok = self.search.is_complete_for(store_id)
        bands_ok = self.bands.is_complete_for(store_id)
        if counters_ok and search_ok and bands_ok:
            return
        if empty is None:
            # A count reads every document on the embedded server; this runs only while something is missing.
            empty = self.articles.collection.estimated_document_count() == 0
        if not counters_ok and empty:
            self.meta.set_counters_complete(True)
        if not search_ok:
            self.search.claim(store_id, complete=empty)
        if not bands_ok:
            no_fingerprints = empty and self.fingerprints.fingerprints.estimated_document_count() == 0
            self.bands.claim(store_id, complete=no_fingerprints)

    def needs_reindex(self) -> list[str]:
        """What is not whole yet, as DERIVED names it (empty when nothing is missing)."""
        store_id = self.meta.store_id()
        whole = {"counters": self.meta.counters_complete(), "search index": self.search.is_complete_for(store_id),
                 "dedup index": self.bands.is_complete_for(store_id)}
        return [name for name in DERIVED if not whole[name]]

    def reindex(self, progress: Callable[[str], None] | None = None,
                parts: Iterable[str] | None = None) -> dict[str, Any]:
        """Rebuild the derived data `parts` names (all of DERIVED when None) in one pass over the articles, a
        window of publication dates at a time (flat memory; no count or sort over the collection): recount them,
        index their text, and put their fingerprints (looked up by `_id`, which the embedded server answers from
        its index: a walk of `fingerprints` itself would be a scan and a sort per window) in the band index."""
        started = time.monotonic()
        parts = set(DERIVED if parts is None else parts)
        counters, search, bands = "counters" in parts, "search index" in parts, "dedup index" in parts
        store_id = self.meta.store_id()
        total = self.articles.collection.estimated_document_count()
        if counters:
            self.meta.set_counters_complete(False)
        for index, wanted in ((self.search, search), (self.bands, bands)):
            if wanted:
                index.claim(store_id, complete=False)
                index.clear()
                index.claim(store_id, complete=False)
        tally = Tally()
        seen = fingerprints = 0
        fields = REINDEX_FIELDS if counters or search else {"canonicalUrl": 1, "_id": 0}
        for docs in self._all_articles(total, fields):
            if counters:
                tally.add(facts_of(d) for d in docs)
            if search:
                self.search.write(docs)
            if bands:
                fingerprints += self.fingerprints.add_to_bands(d["canonicalUrl"] for d in docs)
            seen += len(docs)
            if progress and docs:
                progress(f"{seen:,} of {total:,} articles")
        if counters:
            self.counters.replace_all(tally)
            self.meta.set_counters_complete(True)
        if search:
            self.search.optimize()
            self.search.claim(store_id, complete=True)
        if bands:
            self.bands.claim(store_id, complete=True)
        return {"articles": seen, "fingerprints": fingerprints, "seconds": round(time.monotonic() - started, 1)}

    def _all_articles(self, total: int, fields: dict[str, int]) -> Iterator[list[dict[str, Any]]]:
        """Every article, in lists of about REINDEX_WINDOW: undated ones, dates ahead of now, then windows of
        the date index walking back, each sized from the last one's density (an empty one doubles, up to
        30 days), until `total` were seen."""
        coll = self.articles.collection
        now = datetime.now(UTC)
        seen = 0
        for query in ({"datePublished": None}, {"datePublished": {"$gte": now}}):
            docs = list(coll.find(query, fields))
            seen += len(docs)
            yield docs
        end, span = now, timedelta(days=1)
        oldest = datetime(1800, 1, 1, tzinfo=UTC)
        while seen < total and end > oldest:
            start = max(end - span, oldest)
            docs = list(coll.find({"datePublished": {"$gte": start, "$lt": end}}, fields))
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
        return await asyncio.wrap_future(self._writer.submit(self._unless_lost, fn, *args, **kwargs))

    async def in_reader(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self._reader.submit(self._unless_lost, fn, *args, **kwargs))

    def _unless_lost(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.lost:
            raise StoreError(self.lost)
        try:
            return fn(*args, **kwargs)
        except PyMongoError as exc:  # a room that does not wrap its errors: still a store failure
            raise StoreError(f"the database at {self.display_uri} failed: {reason(exc)}") from None

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        self.search.close()
        self.bands.close()
        self._close_client()
        if self.server:
            self.server.stop()
            self.server = None

    def _close_client(self) -> None:
        # Closing ends the client's sessions on the server, a courtesy that would wait for a server that is
        # gone for the full selection timeout (5 s per client, measured): bounded here.
        try:
            with pymongo.timeout(0.5):
                self.client.close()
        except PyMongoError:
            pass

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["STORE_ERRORS", "ArticleFilter", "Store", "StoreConfigError", "StoreError", "WriteCounts", "naming_database",
           "redact_uri"]
