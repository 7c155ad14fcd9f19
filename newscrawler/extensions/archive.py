"""PageArchive: every article page a crawl receives goes into the run's WARC file under DATA_DIR/archive
(newscrawler/archive.py), for `newscrawler reprocess`.

It listens to Scrapy's `response_received` signal, which fires once the downloader middlewares are done with a
response (redirects followed, body decompressed) and before the spider parses it, so a stored article's page is
in the archive before the article can be. Article pages are the requests the spider marks `kind: article` —
first pages and their 下一页 continuations; home and column pages are not kept (they change by the hour and
reprocess does not need them).

Settings: NEWSCRAWLER_ARCHIVE (on unless "0"/"false"/"no"/"off"), NEWSCRAWLER_ARCHIVE_DAYS (files last written
more than that many days ago are deleted when a run starts; 0 keeps them forever). A page that cannot be written
(disk full) stops the archiving for the rest of the run with one error in the log; the crawl goes on.

The records (their digests and gzip: 1.2 ms of CPU for a 45 KB page) are made in the crawl's extraction process
when it has one (newscrawler/extensions/extraction.py) and written here, in the order the pages came.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.defer import Deferred

from newscrawler import config
from newscrawler.archive import ArchiveWriter, archive_dir, keep_days, prune, response_record
from newscrawler.extensions.extraction import ExtractionWorker, WorkerLost, worker_of
from newscrawler.extensions.store import require_run

logger = logging.getLogger(__name__)

_OFF = ("0", "false", "no", "off")


class PageArchive:
    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        if str(settings.get("NEWSCRAWLER_ARCHIVE", "1")).strip().lower() in _OFF:
            raise NotConfigured("NEWSCRAWLER_ARCHIVE is off")
        self.crawler = crawler
        self.directory = archive_dir(config.data_dir(settings.get("NEWSCRAWLER_DATA_DIR") or None))
        self.keep_days = keep_days(settings.get("NEWSCRAWLER_ARCHIVE_DAYS", 0))
        self.writer: ArchiveWriter | None = None
        self.failed = False
        self.making: set[asyncio.Future] = set()  # records being made in the extraction process
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageArchive:
        require_run(crawler)  # pages fetched by `scrapy shell`, `parse` … are not a run's to archive
        return cls(crawler)

    def spider_opened(self, spider) -> None:
        removed = prune(self.directory, self.keep_days)
        if removed:
            logger.info("archive: deleted %d file(s) older than %d days from %s", len(removed), self.keep_days,
                        self.directory)
        self.crawler.stats.set_value("archive/pruned", len(removed))
        run = self.crawler.stats.get_value("newscrawler/run_id")
        self.writer = ArchiveWriter(self.directory, {"spider": spider.name, **({"run": str(run)} if run else {})})

    def response_received(self, response: Response, request: Request, spider) -> None:
        meta = request.meta
        if meta.get("kind") != "article" or self.writer is None or self.failed:
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, values in response.headers.items()
                   for v in values]
        extra = {"site": meta.get("site"), "linked": meta.get("linked"), "page": len(meta.get("pages") or ()),
                 "requested": (meta.get("redirect_urls") or [None])[0], "when": datetime.now(UTC)}
        worker = worker_of(self.crawler)
        if worker is None:
            self._write(self._made_here(response.url, response.status, headers, response.body, extra))
            return
        # Made in the extraction process, which answers in order: the record is written before the same page's
        # extract() answer reaches the spider, so a stored article's page is still in the archive first.
        task = asyncio.ensure_future(self._archive(worker, response.url, response.status, headers, response.body,
                                                   extra))
        self.making.add(task)
        task.add_done_callback(self.making.discard)

    async def _archive(self, worker: ExtractionWorker, url: str, status: int, headers: list[tuple[str, str]],
                       body: bytes, extra: dict[str, Any]) -> None:
        try:
            member = await worker.archive_record(url, status, headers, body, extra)
        except WorkerLost:  # the process died on it: made here instead
            member = self._made_here(url, status, headers, body, extra)
        except Exception as exc:  # noqa: BLE001 - one page's record, never the crawl
            self._unwritable(url, exc)
            return
        self._write(member)

    def _made_here(self, url: str, status: int, headers: list[tuple[str, str]], body: bytes,
                   extra: dict[str, Any]) -> bytes | None:
        try:
            return response_record(url, status, headers, body, **extra)
        except Exception as exc:  # noqa: BLE001 - one page's record, never the crawl
            self._unwritable(url, exc)
            return None

    def _write(self, member: bytes | None) -> None:
        if member is None or self.failed:
            return
        try:
            self.writer.append(member)
        except OSError as exc:
            self.failed = True
            self.crawler.stats.inc_value("archive/errors")
            logger.error("archive: cannot write %s: %s; the rest of this run's article pages are not archived",
                         self.writer.path or self.directory, exc.strerror or exc)
            try:
                self.writer.close()
            except OSError:
                pass  # a full disk fails the close too: said once above, no traceback (issue 12)
            return
        self.crawler.stats.inc_value("archive/pages")

    def _unwritable(self, url: str, exc: Exception) -> None:
        """A page whose record cannot be made (a header name that is not ASCII): it alone is not archived."""
        self.crawler.stats.inc_value("archive/errors")
        logger.error("archive: %s not archived: %s: %s", url, type(exc).__name__, exc)

    def spider_closed(self, spider) -> Deferred | None:
        if self.making:
            return deferred_from_coro(self._close_after(list(self.making)))
        self._close()
        return None

    async def _close_after(self, making: list[asyncio.Future]) -> None:
        await asyncio.gather(*making, return_exceptions=True)
        self._close()

    def _close(self) -> None:
        if self.writer is None:
            return
        try:
            self.writer.close()
        except OSError as exc:
            logger.error("archive: cannot finish %s: %s", self.writer.path or self.directory, exc.strerror or exc)
        if self.writer.path is not None:
            self.crawler.stats.set_value("archive/file", str(self.writer.path))
            self.crawler.stats.set_value("archive/bytes", self.writer.size)
            logger.info("archive: %d article pages, %d bytes in %s", self.writer.pages, self.writer.size,
                        self.writer.path)
