"""RunRecorder: one `crawl_runs` record per crawl (start/end, portals, pages, articles, errors, exit status),
so an unattended cron run can be audited from the database alone."""

from __future__ import annotations

import logging
import os
from typing import Any

from scrapy import signals

from newscrawler.store import StoreError, for_crawler

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_PORTAL_FAILED = 1
EXIT_NOTHING_STORED = 2
EXIT_STORE_FAILED = 3


def exit_status(stats: dict[str, Any], failed_portals: dict[str, str], close_reason: str) -> tuple[int, str]:
    """The run's exit code and a one-line reason a human (or cron's mail) can act on."""
    if stats.get("store/errors"):
        return EXIT_STORE_FAILED, f"the database failed; unwritten articles kept in {stats.get('store/spill_file')}"
    if failed_portals:
        why = "; ".join(f"{site}: {reason}" for site, reason in failed_portals.items())
        return EXIT_PORTAL_FAILED, f"portal(s) failed outright: {why}"
    stored = sum(stats.get(f"articles/{k}", 0) for k in ("new", "updated", "unchanged"))
    scraped = stats.get("item_scraped_count", 0) + stats.get("item_dropped_count", 0)
    if scraped and not stored:
        return EXIT_NOTHING_STORED, f"{scraped} article pages fetched but none could be stored"
    if close_reason not in ("finished",):
        return EXIT_PORTAL_FAILED, f"the crawl ended early: {close_reason}"
    return EXIT_OK, "ok"


def summarise(stats: dict[str, Any]) -> dict[str, Any]:
    dropped = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("item_dropped_reasons/")}
    per_portal: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if key.startswith("portal/"):
            _, site, metric = key.split("/", 2)
            per_portal.setdefault(site, {})[metric] = value
    return {
        "pagesFetched": stats.get("downloader/response_count", 0),
        "perPortal": per_portal,
        "articles": {"new": stats.get("articles/new", 0), "updated": stats.get("articles/updated", 0),
                     "unchanged": stats.get("articles/unchanged", 0), "dropped": sum(dropped.values())},
        "dropReasons": dropped,
        "errorCount": sum(v for k, v in stats.items() if k.startswith("errors/")),
    }


class RunRecorder:
    def __init__(self, crawler):
        self.crawler = crawler
        self.run_id = None
        self.result: dict[str, Any] | None = None

    @classmethod
    def from_crawler(cls, crawler) -> RunRecorder:
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler._newscrawler_recorder = ext
        return ext

    def spider_opened(self, spider) -> None:
        store = for_crawler(self.crawler)
        self.run_id = store.start_run({
            "spider": spider.name,
            "portals": sorted(getattr(spider, "profiles", {})),
            "backfill": bool(getattr(spider, "backfill", False)),
            "recheck": bool(getattr(spider, "recheck", False)),
            "database": store.display_uri,
            "logFile": self.crawler.settings.get("NEWSCRAWLER_LOG_FILE") or None,
            "pid": os.getpid(),
        })
        self.crawler.stats.set_value("newscrawler/run_id", str(self.run_id))

    def spider_closed(self, spider, reason: str) -> None:
        stats = self.crawler.stats.get_stats()
        failed = spider.failed_portals() if hasattr(spider, "failed_portals") else {}
        code, message = exit_status(stats, failed, reason)
        self.result = {
            **summarise(stats),
            "errors": list(getattr(spider, "errors", []))[:200],
            "failedPortals": sorted(failed),
            "failureReasons": failed,
            "closeReason": reason,
            "status": "ok" if code == EXIT_OK else "failed",
            "exitCode": code,
            "message": message,
            "spillFile": stats.get("store/spill_file"),
        }
        try:
            for_crawler(self.crawler).finish_run(self.run_id, self.result)
        except StoreError as exc:
            logger.error("could not write the run record: %s", exc)
        level = logging.INFO if code == EXIT_OK else logging.ERROR
        logger.log(level, "run %s: %s (exit %d) %s", self.run_id, message, code, summarise(stats))
