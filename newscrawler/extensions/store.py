"""StoreExtension: the one Store of a crawl, for every component that needs the database, and its watch.

Components find it with `crawler.get_extension(StoreExtension).store` (opened on first use); it is closed,
and the embedded server released, when the engine stops.

While the spider runs, the store is pinged every STORE_HEARTBEAT seconds from a thread of its own. When
the database stops answering (gone, or stalled: it accepts and never answers) for STORE_LOST_AFTER
seconds, or any component reports it lost (`lose()`), the crawl stops fetching at once (close reason
"store_failed", exit status 3): the articles still in the pipelines go to the spill file, the next run
loads them.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from newscrawler.store import Store, StoreError

logger = logging.getLogger(__name__)


class StoreExtension:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._store: Store | None = None
        settings = crawler.settings
        self.heartbeat = settings.getfloat("STORE_HEARTBEAT", 1.0)
        self.lost_after = settings.getfloat("STORE_LOST_AFTER", 3.0)
        self._watch: task.LoopingCall | None = None
        self._pinger: ThreadPoolExecutor | None = None
        self._ping: Future | None = None
        self._ping_since = 0.0
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.close, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoreExtension:
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
        if self.heartbeat > 0:
            self._pinger = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-watch")
            self._watch = task.LoopingCall(self._beat)
            self._watch.start(self.heartbeat, now=False)

    def _beat(self) -> None:
        store = self._store
        if store is None or store.lost:
            return
        if self._ping is not None:
            if time.monotonic() - self._ping_since > self.lost_after:
                self.lose(f"the database at {store.display_uri} has not answered for {self.lost_after:.0f} s")
            return
        self._ping_since = time.monotonic()
        self._ping = self._pinger.submit(store.ping, self.lost_after)
        from twisted.internet import reactor

        self._ping.add_done_callback(lambda f: reactor.callFromThread(self._pinged, f))

    def _pinged(self, future: Future) -> None:
        self._ping = None
        exc = future.exception()
        if exc is not None:
            self.lose(str(exc))

    def lose(self, why: str) -> None:
        if self._store is not None:
            store_lost(self.crawler, self._store, why)

    def spider_closed(self) -> None:
        if self._watch is not None and self._watch.running:
            self._watch.stop()
        if self._pinger is not None:
            self._pinger.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def store_of(crawler: Crawler) -> Store:
    """The crawl's store (StoreExtension must be enabled in EXTENSIONS)."""
    return _extension(crawler).store


def store_lost(crawler: Crawler, store: Store, why: Exception | str) -> None:
    """The database is gone (the watch found it, or a component's call failed with a StoreError): count it
    once, and stop fetching now; what is in flight is spilled (pipelines/store.py)."""
    if not store.mark_lost(str(why)):
        return
    stats = crawler.stats
    stats.inc_value("store/errors")
    stats.set_value("store/lost", str(why))
    logger.error("%s; stopping the crawl: no more pages are fetched, the articles in flight are kept in the spill "
                 "file", why)
    engine = crawler.engine if crawler.crawling else None
    if engine is not None and engine.spider is not None:
        deferred_from_coro(engine.close_spider_async(reason="store_failed"))


def _extension(crawler: Crawler) -> StoreExtension:
    ext = crawler.get_extension(StoreExtension)
    if ext is None:
        raise RuntimeError("newscrawler.extensions.store.StoreExtension is not enabled in EXTENSIONS")
    return ext


__all__ = ["StoreError", "StoreExtension", "store_lost", "store_of"]
