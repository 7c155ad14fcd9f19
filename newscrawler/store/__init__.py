"""The store: the one package that talks to MongoDB. Every query, index and bulk write lives here, in
rooms of one collection each; the spider's middleware, the pipelines, the CLI and the web view call them.

    store = Store.open()              # MONGO_URI, else the embedded server under the data directory
    store.articles                    # articles.py: writes with versions, look-ups, search, stats
    store.runs                        # runs.py: crawl_runs records
    store.links                       # links.py: dead links
    store.fingerprints                # fingerprints.py: dedup's fingerprints and story clusters
    store.health                      # health.py: each portal's health state and judged history

The same pymongo code serves the embedded default (a SecantusDB daemon on 127.0.0.1, see server.py) and
a real MongoDB given as MONGO_URI. The Scrapy side (one store per crawl) is newscrawler.extensions.store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pymongo

from newscrawler import config
from newscrawler.store.articles import ArticleRoom, WriteCounts
from newscrawler.store.connection import StoreError, connect, redact_uri
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
        store = cls(client, db_name or config.database_name(), uri, server)
        store.ensure_indexes()
        return store

    def ensure_indexes(self) -> None:
        for room in (self.articles, self.runs, self.links, self.fingerprints, self.health):
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
        return await asyncio.wrap_future(self._writer.submit(fn, *args, **kwargs))

    async def in_reader(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self._reader.submit(fn, *args, **kwargs))

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        self.client.close()
        if self.server:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Store", "StoreError", "WriteCounts", "redact_uri"]
