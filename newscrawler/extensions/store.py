"""StoreExtension: the one Store of a crawl, for every component that needs the database, and its watch.

Components find it with `crawler.get_extension(StoreExtension).store` (opened on first use); it is closed,
and the embedded server released, when the engine stops.

Only a crawl run touches the database: one started by `newscrawler crawl`/`import` or `scrapy crawl`, which
hold the data directory's run lock and set NEWSCRAWLER_RUN. Everywhere else (`scrapy shell`, `parse`,
`fetch`, `view`, `check`, a script of one's own) the components that read or write the database turn
themselves off (`require_run`), so those commands start no database server and leave no run record.

From the spider's opening until the engine stops, a thread of its own pings the store every STORE_HEARTBEAT
seconds (a thread, not a reactor timer: it must also watch while the spider_closed handlers block the reactor
with their writes). When the database stops answering (gone, or stalled: it accepts and never answers) for
STORE_LOST_AFTER seconds, or any component reports it lost (`store_lost()`), the crawl stops fetching at once
(close reason "store_failed", exit status 3): the articles still in the pipelines go to the spill file, the
next run loads them, and every later call to the store fails at once.
"""

from __future__ import annotations

import logging
import threading

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro

from newscrawler.store import Store, StoreError

logger = logging.getLogger(__name__)


class StoreExtension:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._store: Store | None = None
        settings = crawler.settings
        self.heartbeat = settings.getfloat("STORE_HEARTBEAT", 1.0)
        self.lost_after = settings.getfloat("STORE_LOST_AFTER", 3.0)
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.close, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoreExtension:
        require_run(crawler)
        return cls(crawler)

    @property
    def store(self) -> Store:
        if self._store is None:
            settings = self.crawler.settings
            self._store = Store.open(uri=settings.get("MONGO_URI") or None,
                                     data_dir=settings.get("NEWSCRAWLER_DATA_DIR") or None,
                                     db_name=settings.get("MONGO_DATABASE") or None,
                                     socket_timeout_ms=settings.getint("STORE_SOCKET_TIMEOUT_MS", 10_000))
        return self._store

    # -- the watch ----------------------------------------------------------------------------------------

    def spider_opened(self) -> None:
        if self.heartbeat > 0 and self._watch is None:
            self._watch = threading.Thread(target=self._watching, name="store-watch", daemon=True)
            self._watch.start()

    def _watching(self) -> None:
        from twisted.internet import reactor

        while not self._stop.wait(self.heartbeat):
            store = self._store
            if store is None or store.lost:
                continue
            try:
                store.ping(self.lost_after)
            except StoreError as exc:
                if not self._stop.is_set():
                    store_lost(self.crawler, store, exc, reactor_call=reactor.callFromThread)

    def close(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join(self.lost_after + 2)
            self._watch = None
        if self._store is not None:
            self._store.close()
            self._store = None


def require_run(crawler: Crawler) -> None:
    """Turn the calling component off (NotConfigured) unless this crawl is a run holding the lock."""
    if not crawler.settings.getbool("NEWSCRAWLER_RUN"):
        raise NotConfigured


def store_of(crawler: Crawler) -> Store:
    """The crawl's store (StoreExtension must be enabled in EXTENSIONS)."""
    return _extension(crawler).store


def store_lost(crawler: Crawler, store: Store, why: Exception | str, reactor_call=None) -> None:
    """The database is gone (the watch found it, or a component's call failed with a StoreError): count it
    once, and stop fetching now; what is in flight is spilled (pipelines/store.py). From another thread,
    pass `reactor_call` (reactor.callFromThread): the spider is closed from the reactor."""
    if not store.mark_lost(str(why)):
        return
    stats = crawler.stats
    stats.inc_value("store/errors")
    stats.set_value("store/lost", str(why))
    logger.error("%s; stopping the crawl: no more pages are fetched, the articles in flight are kept in the spill "
                 "file", why)

    def close() -> None:
        engine = crawler.engine if crawler.crawling else None
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason="store_failed"))

    if reactor_call is not None:
        reactor_call(close)
    else:
        close()


def _extension(crawler: Crawler) -> StoreExtension:
    ext = crawler.get_extension(StoreExtension)
    if ext is None:
        raise RuntimeError("newscrawler.extensions.store.StoreExtension is not enabled in EXTENSIONS")
    return ext


__all__ = ["StoreError", "StoreExtension", "require_run", "store_lost", "store_of"]
