"""Scrapy's log formatter, minus the per-page DEBUG lines nobody logs: "Crawled (200) <GET …>" for every
response and "Scraped from <…>" for every item are built (referer decoded, item attached) and then dropped by
the logging level in a normal run; here they are not built unless DEBUG is on."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.logformatter import LogFormatter, LogFormatterResult

_engine = logging.getLogger("scrapy.core.engine")
_scraper = logging.getLogger("scrapy.core.scraper")


class QuietLogFormatter(LogFormatter):
    def crawled(self, request: Any, response: Any, spider: Any) -> LogFormatterResult | None:
        if not _engine.isEnabledFor(logging.DEBUG):
            return None
        return super().crawled(request, response, spider)

    def scraped(self, item: Any, response: Any, spider: Any) -> LogFormatterResult | None:
        if not _scraper.isEnabledFor(logging.DEBUG):
            return None
        return super().scraped(item, response, spider)
