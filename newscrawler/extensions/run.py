"""RunRecorder: one `crawl_runs` record per crawl or import (start/end, portals, pages, articles, errors,
exit status), so an unattended cron run can be audited from the database alone."""

from __future__ import annotations

import logging
import os
from typing import Any

from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler

from newscrawler import signals
from newscrawler.extensions.store import store_of
from newscrawler.monitors.extension import health_of
from newscrawler.store import StoreError

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_PORTAL_FAILED = 1
EXIT_NOTHING_STORED = 2
EXIT_STORE_FAILED = 3
EXIT_PORTAL_DEGRADED = 4
MAX_RECORDED_ERRORS = 200


def exit_status(stats: dict[str, Any], failed: dict[str, str], close_reason: str,
                degraded: dict[str, str] | None = None) -> tuple[int, str]:
    """The run's exit code and a one-line reason a human (or cron's mail) can act on. `failed` and
    `degraded` are the portals the health monitors judged so (newscrawler/monitors), with why."""
    if stats.get("store/errors"):
        return EXIT_STORE_FAILED, f"the database failed; unwritten articles kept in {stats.get('store/spill_file')}"
    if failed:
        why = "; ".join(f"{site}: {reason}" for site, reason in failed.items())
        return EXIT_PORTAL_FAILED, f"portal(s) failed outright: {why}"
    stored = sum(stats.get(f"articles/{k}", 0) for k in ("new", "updated", "unchanged"))
    scraped = stats.get("item_scraped_count", 0) + stats.get("item_dropped_count", 0)
    if scraped and not stored:
        return EXIT_NOTHING_STORED, f"{scraped} article pages fetched but none could be stored"
    if close_reason != "finished":
        return EXIT_PORTAL_FAILED, f"the crawl ended early: {close_reason}"
    if degraded:
        why = "; ".join(f"{site}: {reason}" for site, reason in degraded.items())
        return EXIT_PORTAL_DEGRADED, f"portal(s) degraded: {why}"
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
        # How many articles had each field changed (a re-crawl: versioned fields; a reprocess: any stored field).
        "fieldsChanged": {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("fields_changed/")},
        "errorCount": sum(v for k, v in stats.items() if k.startswith("errors/")),
    }


class RunRecorder:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.run_id = None
        self.errors: list[dict[str, Any]] = []
        self.result: dict[str, Any] | None = None
        crawler.signals.connect(self.spider_opened, signal=scrapy_signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=scrapy_signals.spider_closed)
        crawler.signals.connect(self.fetch_failed, signal=signals.fetch_failed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunRecorder:
        return cls(crawler)

    def spider_opened(self, spider) -> None:
        store = store_of(self.crawler)
        settings = self.crawler.settings
        self.run_id = store.runs.start({
            "spider": spider.name,
            "portals": sorted(getattr(spider, "profiles", {})),
            "backfill": settings.getbool("NEWSCRAWLER_BACKFILL"),
            "recheck": settings.getbool("NEWSCRAWLER_RECHECK"),
            "database": store.display_uri,
            "logFile": settings.get("NEWSCRAWLER_LOG_FILE") or None,
            "pid": os.getpid(),
        })
        self.crawler.stats.set_value("newscrawler/run_id", str(self.run_id))

    def fetch_failed(self, url: str, kind: str, reason: str, **_: Any) -> None:
        if len(self.errors) < MAX_RECORDED_ERRORS:
            self.errors.append({"url": url, "kind": kind, "error": reason})

    def spider_closed(self, spider, reason: str) -> None:
        health_ext = health_of(self.crawler)
        health = None
        try:
            health = health_ext.evaluate(spider, reason) if health_ext is not None else None
        except Exception as exc:  # noqa: BLE001 - a bug in the monitors must not lose the run record
            logger.exception("the portal health monitors failed")
            health_error = f"the portal health monitors failed: {type(exc).__name__}: {exc}"
        else:
            health_error = None
        # The portals' verdicts come from the declared monitors; a run that ended early is not judged.
        judged = health is not None and health.judged
        failed = health.broken("failed") if judged else {}
        degraded = health.broken("degraded") if judged else {}
        stats = self.crawler.stats.get_stats()
        code, message = exit_status(stats, failed, reason, degraded)
        if health_error and code in (EXIT_OK, EXIT_PORTAL_DEGRADED):
            code, message = EXIT_PORTAL_FAILED, health_error
        self.result = {
            **summarise(stats),
            "errors": self.errors,
            "failedPortals": sorted(failed),
            "failureReasons": failed,
            "degradedPortals": sorted(degraded),
            "health": health.record() if health is not None else None,
            "closeReason": reason,
            "status": {EXIT_OK: "ok", EXIT_PORTAL_DEGRADED: "degraded"}.get(code, "failed"),
            "exitCode": code,
            "message": message,
            "spillFile": stats.get("store/spill_file"),
        }
        try:
            store_of(self.crawler).runs.finish(self.run_id, self.result)
        except StoreError as exc:
            logger.error("could not write the run record: %s", exc)
        level = {EXIT_OK: logging.INFO, EXIT_PORTAL_DEGRADED: logging.WARNING}.get(code, logging.ERROR)
        logger.log(level, "run %s: %s (exit %d) %s", self.run_id, message, code, summarise(stats))


def recorder_of(crawler: Crawler) -> RunRecorder | None:
    return crawler.get_extension(RunRecorder)
