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
"""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from newscrawler import config
from newscrawler.archive import ArchiveWriter, archive_dir, keep_days, prune
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
        try:
            self.writer.write(response.url, response.status, headers, response.body, site=meta.get("site"),
                              linked=meta.get("linked"), page=len(meta.get("pages") or ()),
                              requested=(meta.get("redirect_urls") or [None])[0])
        except OSError as exc:
            self.failed = True
            self.crawler.stats.inc_value("archive/errors")
            logger.error("archive: cannot write %s: %s; the rest of this run's article pages are not archived",
                         self.writer.path or self.directory, exc.strerror or exc)
            self.writer.close()
            return
        self.crawler.stats.inc_value("archive/pages")

    def spider_closed(self, spider) -> None:
        if self.writer is None:
            return
        self.writer.close()
        if self.writer.path is not None:
            self.crawler.stats.set_value("archive/file", str(self.writer.path))
            self.crawler.stats.set_value("archive/bytes", self.writer.size)
            logger.info("archive: %d article pages, %d bytes in %s", self.writer.pages, self.writer.size,
                        self.writer.path)
