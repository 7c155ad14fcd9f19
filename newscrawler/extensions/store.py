"""StoreExtension: the one Store of a crawl, for every component that needs the database.

Components find it with `crawler.get_extension(StoreExtension).store` (opened on first use); it is closed,
and the embedded server it started stopped, when the engine stops.

Only a crawl run touches the database: one started by `newscrawler crawl`/`import` or `scrapy crawl`, which
hold the data directory's run lock and set NEWSCRAWLER_RUN. Everywhere else (`scrapy shell`, `parse`,
`fetch`, `view`, `check`, a script of one's own) the components that read or write the database turn
themselves off (`require_run`), so those commands start no database server and leave no run record.
"""

from __future__ import annotations

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from newscrawler.store import Store


class StoreExtension:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._store: Store | None = None
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
                                     db_name=settings.get("MONGO_DATABASE") or None)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def store_of(crawler: Crawler) -> Store:
    """The crawl's store (StoreExtension must be enabled in EXTENSIONS)."""
    ext = crawler.get_extension(StoreExtension)
    if ext is None:
        raise RuntimeError("newscrawler.extensions.store.StoreExtension is not enabled in EXTENSIONS")
    return ext.store


def require_run(crawler: Crawler) -> None:
    """Turn the calling component off (NotConfigured) unless this crawl is a run holding the lock."""
    if not crawler.settings.getbool("NEWSCRAWLER_RUN"):
        raise NotConfigured
