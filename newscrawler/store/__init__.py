"""The store: the one package that talks to MongoDB. Every query, index and bulk write lives here, in
rooms of one collection each; the spider's middleware, the pipelines, the CLI and the web view call them.

    store = Store.open()              # MONGO_URI, else the embedded server under the data directory
    store.articles                    # articles.py: writes with versions, look-ups, search, stats
    store.runs                        # runs.py: crawl_runs records
    store.links                       # links.py: dead links
    store.fingerprints                # fingerprints.py: dedup's fingerprints and story clusters
    store.columns                     # columns.py: how far each column was walked, what to fetch again
    store.health                      # health.py: each portal's health state and judged history

The same pymongo code serves the embedded default (a SecantusDB daemon on 127.0.0.1, see server.py) and
a real MongoDB given as MONGO_URI. The Scrapy side (one store per crawl) is newscrawler.extensions.store.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pymongo
from pymongo.errors import PyMongoError

from newscrawler import config
from newscrawler.store.articles import ArticleRoom, WriteCounts
from newscrawler.store.columns import ColumnRoom
from newscrawler.store.connection import SOCKET_TIMEOUT_MS, StoreConfigError, StoreError, connect, reason, redact_uri
from newscrawler.store.fingerprints import FingerprintRoom
from newscrawler.store.health import HealthRoom
from newscrawler.store.links import LinkRoom
from newscrawler.store.runs import RunRoom
from newscrawler.store.server import EmbeddedServer

T = TypeVar("T")


class Store:
    def __init__(self, client: pymongo.MongoClient, db_name: str, uri: str,
                 server: EmbeddedServer | None = None):
        self.client = client
        self.db = client[db_name]
        self.uri = uri
        self.server = server
        self.articles = ArticleRoom(self.db["articles"], self.display_uri)
        self.runs = RunRoom(self.db["crawl_runs"], self.display_uri, lost=lambda: self.lost)
        self.links = LinkRoom(self.db["dead_links"])
        self.fingerprints = FingerprintRoom(self.db)
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
        store = cls(client, db_name or config.database_name(), uri, server)
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
        for room in (self.articles, self.runs, self.links, self.fingerprints, self.columns, self.health):
            room.ensure_indexes()

    @property
    def display_uri(self) -> str:
        return redact_uri(self.uri)

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """URLs a crawl need not fetch: stored articles (by any URL they were reached by) and links that
        were dead when last tried."""
        wanted = list(dict.fromkeys(urls))
        known = self.articles.known(wanted)
        return known | self.links.dead(u for u in wanted if u not in known)

    def stats(self, timezone: str = "Asia/Shanghai", days: int = 30) -> dict[str, Any]:
        """Article total, counts per portal and per publication day (in the portals' zone), the last run."""
        return {"articles": self.articles.count(), "perSite": self.articles.per_site(),
                "perDay": self.articles.per_day(timezone, days), "lastRun": self.runs.last()}

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


__all__ = ["Store", "StoreConfigError", "StoreError", "WriteCounts", "redact_uri"]
