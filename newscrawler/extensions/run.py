"""RunRecorder: one `crawl_runs` record per crawl or import (start/end, portals, pages, articles, errors,
exit status), so an unattended cron run can be audited from the database alone.

A record's life: `running` when the spider opens (with the owner's pid, host and data directory); `ok`,
`failed` or `stopped` (deadline, SIGTERM, SIGINT) when it closes; `abandoned` when a later run finds it
still `running` although its process is gone (killed with SIGKILL, the machine lost power), with what the
dead run had stored.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler

from newscrawler import signals, spill
from newscrawler.extensions.store import require_run, store_of
from newscrawler.monitors.extension import health_of
from newscrawler.store import Store, StoreError

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_PORTAL_FAILED = 1
EXIT_NOTHING_STORED = 2
EXIT_STORE_FAILED = 3
EXIT_PORTAL_DEGRADED = 4
EXIT_DEADLINE = 5
MAX_RECORDED_ERRORS = 200
# Close reasons of a run stopped before its end (CloseSpider's for the deadline; RunProcess's for signals),
# with their exit status (128 + the signal's number, as a shell reports it) and message.
STOPPED = {"closespider_timeout": (EXIT_DEADLINE, "stopped at the run deadline"),
           "sigterm": (143, "stopped by SIGTERM"), "sigint": (130, "interrupted (SIGINT)")}
# A record from another host is judged by its deadline: running this long past it, its process is gone.
ABANDON_AFTER_DEADLINE = timedelta(hours=1)


def exit_status(stats: dict[str, Any], failed: dict[str, str], close_reason: str,
                degraded: dict[str, str] | None = None) -> tuple[int, str]:
    """The run's exit code and a one-line reason a human (or cron's mail) can act on. `failed` and
    `degraded` are the portals the health monitors judged so (newscrawler/monitors), with why."""
    if stats.get("store/errors"):
        kept = (f"unwritten articles kept in {stats['store/spill_file']} (the next run loads them)"
                if stats.get("store/spill_file") else "no article was left unwritten")
        return EXIT_STORE_FAILED, f"the database failed ({stats.get('store/lost', 'a write failed')}); {kept}"
    if close_reason in STOPPED:  # before failed portals: a stopped run's listing counts are partial
        code, message = STOPPED[close_reason]
        if code == EXIT_DEADLINE and stats.get("newscrawler/max_runtime"):
            message += f" (max runtime {stats['newscrawler/max_runtime']:g} s; NEWSCRAWLER_MAX_RUNTIME, --max-runtime)"
        return code, message
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
        require_run(crawler)  # `scrapy shell`, `parse`, `fetch` … leave no record
        return cls(crawler)

    def spider_opened(self, spider) -> None:
        store = store_of(self.crawler)
        settings = self.crawler.settings
        owner = {"pid": os.getpid(), "host": settings.get("NEWSCRAWLER_HOST") or None,
                 "dataDir": settings.get("NEWSCRAWLER_DATA_DIR") or None}
        try:
            mark_abandoned(store, owner)
        except StoreError as exc:
            logger.warning("could not check for abandoned run records: %s", exc)
        max_runtime = settings.getfloat("NEWSCRAWLER_MAX_RUNTIME")
        self.run_id = store.runs.start({
            "spider": spider.name,
            "portals": sorted(getattr(spider, "profiles", {})),
            "backfill": settings.getbool("NEWSCRAWLER_BACKFILL"),
            "recheck": settings.getbool("NEWSCRAWLER_RECHECK"),
            "database": store.display_uri,
            "logFile": settings.get("NEWSCRAWLER_LOG_FILE") or None,
            **owner,
            "maxRuntime": max_runtime or None,
        })
        self.crawler.stats.set_value("newscrawler/run_id", str(self.run_id))
        if max_runtime:
            self.crawler.stats.set_value("newscrawler/max_runtime", max_runtime)

    def fetch_failed(self, url: str, kind: str, reason: str, **_: Any) -> None:
        if len(self.errors) < MAX_RECORDED_ERRORS:
            self.errors.append({"url": url, "kind": kind, "error": reason})

    def spider_closed(self, spider, reason: str) -> None:
        self.crawler.signals.send_catch_log(signals.run_closing, reason=reason)
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
            "status": "stopped" if reason in STOPPED else {EXIT_OK: "ok", EXIT_PORTAL_DEGRADED: "degraded"}.get(
                code, "failed"),
            "exitCode": code,
            "message": message,
            "spillFile": stats.get("store/spill_file"),
        }
        try:
            store_of(self.crawler).runs.finish(self.run_id, self.result)
        except StoreError as exc:
            logger.error("could not write the run record: %s", exc)
            spill.keep_run_record(self.crawler.settings.get("NEWSCRAWLER_DATA_DIR"), self.run_id, self.result)
        level = {EXIT_OK: logging.INFO, EXIT_PORTAL_DEGRADED: logging.WARNING}.get(code, logging.ERROR)
        logger.log(level, "run %s: %s (exit %d) %s", self.run_id, message, code, summarise(stats))

    def close_forced(self, why: str, code: int) -> None:
        """The run was stopped at once (a second signal, or the deadline's grace passed): close the record
        with what is known, giving the database 2 s at most."""
        if self.run_id is None or self.result is not None:
            return
        stats = self.crawler.stats.get_stats()
        self.result = {**summarise(stats), "errors": self.errors, "closeReason": f"{why} (stopped at once)",
                       "status": "stopped", "exitCode": code, "failedPortals": [], "failureReasons": {},
                       "message": f"stopped at once ({why}); articles not yet written kept in "
                                  f"{stats.get('store/spill_file') or 'no spill file (none were pending)'}",
                       "spillFile": stats.get("store/spill_file")}
        try:
            store_of(self.crawler).runs.finish(self.run_id, self.result, timeout_s=2)
        except (StoreError, Exception) as exc:  # noqa: BLE001 - the next run marks it abandoned instead
            logger.error("could not close the run record (the next run will mark it abandoned): %s", exc)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def mark_abandoned(store: Store, owner: dict[str, Any]) -> list[dict]:
    """Mark the `running` records whose process is gone as `abandoned`, with what they had stored.

    The caller holds the run lock of its data directory, so a record from the same host and data directory
    is dead for sure; one from the same host whose pid is gone is too; one from another host (a shared
    MongoDB) only once it is ABANDON_AFTER_DEADLINE past its own deadline. Records from before the owner
    fields existed count as this host's and this directory's."""
    now = datetime.now(UTC)
    marked = []
    for rec in store.runs.running():
        host = rec.get("host", owner["host"])
        same_host = host == owner["host"]
        started = rec.get("startedAt") or now
        if started.tzinfo is None:
            started = started.replace(tzinfo=UTC)
        if same_host and rec.get("dataDir", owner["dataDir"]) == owner["dataDir"]:
            why = f"its process (pid {rec.get('pid')}) no longer held the lock on {owner['dataDir']}"
        elif same_host and rec.get("pid") and not _pid_alive(rec["pid"]):
            why = f"its process (pid {rec['pid']} on {host}) was gone"
        elif rec.get("maxRuntime") and started + timedelta(seconds=rec["maxRuntime"]) + ABANDON_AFTER_DEADLINE < now:
            why = f"it was still running {ABANDON_AFTER_DEADLINE} past its deadline (host {host})"
        else:
            continue
        written = store.articles.written_between(started, now, rec.get("portals") or None)
        spill = Path(owner["dataDir"] or ".") / "spill" / f"{rec['_id']}.jsonl"
        fields = {"message": f"abandoned: {why} when the next run started; it ended without closing its record "
                             "(killed, or the machine stopped)",
                  "articles": {**written, "unchanged": None, "dropped": None},
                  "exitCode": None, "spillFile": str(spill) if spill.exists() else None}
        if store.runs.abandon(rec["_id"], fields):
            logger.warning("run %s (started %s) marked abandoned: %s; %d new and %d updated articles stored by it",
                           rec["_id"], started.isoformat(timespec="seconds"), why, written["new"], written["updated"])
            marked.append({**rec, **fields})
    return marked


def recorder_of(crawler: Crawler) -> RunRecorder | None:
    return crawler.get_extension(RunRecorder)
