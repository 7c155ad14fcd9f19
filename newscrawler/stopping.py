"""Stopping a run on time: at the run deadline or on SIGTERM/SIGINT the spider closes gracefully (Scrapy's
CloseSpider extension with CLOSESPIDER_TIMEOUT, set from NEWSCRAWLER_MAX_RUNTIME; RunProcess for signals),
and a graceful close waits for every download in flight. A stalled server (accepts, never answers) would
hold it for the whole DOWNLOAD_TIMEOUT, and the retries queued behind it (robots.txt included). So STOP_GRACE_S
after the close began, and every STOP_GRACE_S after that until the spider has closed, the requests in the
downloader are marked not to be retried and the connections still open are aborted: a page that answers
normally never notices, a stalled one fails (and is fetched again by the next run, as it is not stored)."""

from __future__ import annotations

import logging
import weakref

from scrapy import signals as scrapy_signals
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler, _LenientHTTP11ClientFactory
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import call_later

from newscrawler import signals

logger = logging.getLogger(__name__)

STOP_GRACE_S = 3.0


class AbortableHTTP11DownloadHandler(HTTP11DownloadHandler):
    """Scrapy's HTTP/1.1 handler, keeping its connections so that `abort_downloads` can cut them."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        protocols: weakref.WeakSet = weakref.WeakSet()
        self.protocols = protocols

        class RecordingFactory(_LenientHTTP11ClientFactory):
            def buildProtocol(self, addr):  # noqa: N802 - Twisted's name
                protocol = super().buildProtocol(addr)
                protocols.add(protocol)
                return protocol

        self._pool._factory = RecordingFactory
        crawler.signals.connect(self.abort_connections, signal=signals.abort_downloads)

    def abort_connections(self) -> int:
        aborted = 0
        for protocol in list(self.protocols):
            transport = getattr(protocol, "transport", None)
            if transport is not None and getattr(transport, "connected", False):
                transport.abortConnection()
                aborted += 1
        return aborted


class StopGrace:
    """Aborts the downloads still open STOP_GRACE_S after the run began to stop (deadline or signal)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.timeout = crawler.settings.getfloat("CLOSESPIDER_TIMEOUT")
        self.pending = None
        crawler.signals.connect(self.spider_opened, signal=scrapy_signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=scrapy_signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StopGrace:
        return cls(crawler)

    def spider_opened(self) -> None:
        if self.timeout:  # CloseSpider starts closing at that moment
            self.pending = call_later(self.timeout + STOP_GRACE_S, self.abort, "the run deadline")

    def stopping(self, why: str) -> None:
        """The run began to stop for `why` (RunProcess calls this on a signal)."""
        if self.pending is not None:
            self.pending.cancel()
        self.pending = call_later(STOP_GRACE_S, self.abort, why)

    def abort(self, why: str) -> None:
        for request in list(self.crawler.engine.downloader.active):
            request.meta["dont_retry"] = True
        results = self.crawler.signals.send_catch_log(signals.abort_downloads)
        aborted = sum(r for _, r in results if isinstance(r, int))
        if aborted:
            logger.warning("stopping (%s): %d download(s) still open after %g s aborted; their pages are fetched "
                           "again next run", why, aborted, STOP_GRACE_S)
        # Requests that were waiting (on robots.txt, on the portal's delay) start their downloads now: again.
        self.pending = call_later(STOP_GRACE_S, self.abort, why)

    def spider_closed(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None
