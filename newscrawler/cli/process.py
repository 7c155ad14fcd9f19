"""RunProcess: Scrapy's CrawlerProcess with the stops a cron job needs.

- The first SIGTERM or SIGINT closes the spider gracefully with reason `sigterm` / `sigint`: requests in
  flight finish (or are cut at their timeout), items in the pipelines are stored, the last batch is flushed,
  the run record is closed, and the exit status is 143 / 130 (RunRecorder's exit_status).
- A second signal, or the watchdog once the run deadline and its grace have passed, stops at once: the
  batch not yet written is spilled to the run's spill file, the run record is closed with what is known
  (within 2 s), the embedded server this run started is stopped, and the process exits — nothing already
  written is touched. If even that hangs, the process exits FORCE_EXIT_S later regardless.

Scrapy's own CrawlerProcess closes with reason `shutdown` on the first signal (so the cause is lost) and on
the second stops the reactor but still waits for the graceful close it started.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.ossignal import install_shutdown_handlers, signal_names

from newscrawler.cli.common import EXIT_DEADLINE, FORCE_EXIT_S, SIGNAL_EXITS

logger = logging.getLogger("newscrawler")

STOP_REASONS = {signal.SIGTERM: "sigterm", signal.SIGINT: "sigint"}
DEADLINE = "deadline"


def scrapy_logs_at_run_level() -> None:
    """Scrapy's logging set-up (run by CrawlerProcess) puts its "scrapy" logger at DEBUG, so each of its DEBUG
    lines — two per article ("Crawled (200)", "Scraped from") and more — is built as a record, then dropped by
    the run's handlers; left at NOTSET it has the run's level (the root logger's, from --log-level) and is not
    built at all: ~1.4 % of the crawler's CPU in the crawl benchmark's profile."""
    logging.getLogger("scrapy").setLevel(logging.NOTSET)


class RunProcess(CrawlerProcess):
    def __init__(self, settings, store=None):
        # newscrawler installs its own log handlers (the run's file; stderr at a terminal).
        settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
        super().__init__(settings)
        scrapy_logs_at_run_level()
        self.store = store
        self.forced: str | None = None  # why the run was stopped at once: a signal's name or DEADLINE
        self._pending: int | None = None
        # Until the reactor runs, a signal is only noted; it is acted on as soon as the reactor starts.
        install_shutdown_handlers(self._note_signal)

    def _note_signal(self, signum: int, _frame: Any) -> None:
        if self._pending is None:
            self._pending = signum
        else:
            self._signal_kill(signum, _frame)

    def _setup_reactor(self, install_signal_handlers: bool) -> None:
        from twisted.internet import reactor

        super()._setup_reactor(install_signal_handlers)
        reactor.addSystemEventTrigger("after", "startup", self._act_on_pending_signal)

    def _act_on_pending_signal(self) -> None:
        if self._pending is not None:
            self._signal_shutdown(self._pending, None)

    # -- the first signal: a graceful close that says why -------------------------------------------------
    def _signal_shutdown(self, signum: int, _: Any) -> None:
        from twisted.internet import reactor

        install_shutdown_handlers(self._signal_kill)
        reactor.callFromThread(self._log_shutdown, signum)
        reactor.callFromThread(self._close_spiders, STOP_REASONS.get(signum, signal_names.get(signum, "signal")))

    def _close_spiders(self, reason: str) -> None:
        from newscrawler.stopping import StopGrace

        for crawler in list(self.crawlers):
            engine = getattr(crawler, "_engine", None) or None
            if engine is not None and engine.spider is not None:
                grace = crawler.get_extension(StopGrace)
                if grace is not None:
                    grace.stopping(reason)
                deferred_from_coro(engine.close_spider_async(reason=reason))
            else:  # not started yet: nothing to close gracefully
                deferred_from_coro(crawler.stop_async())
        if not self.crawlers:
            self._stop_reactor()

    # -- the second signal or the watchdog: stop at once ----------------------------------------------------
    def _signal_kill(self, signum: int, _: Any) -> None:
        from twisted.internet import reactor

        install_shutdown_handlers(signal.SIG_IGN)
        self.forced = signal.Signals(signum).name
        self._exit_anyway_later()
        reactor.callFromThread(self._log_kill, signum)
        reactor.callFromThread(self._stop_now)

    def watchdog(self, delay: float) -> threading.Timer:
        """After `delay` seconds (the deadline plus STOP_GRACE_S), stop at once if the run is still going."""
        def fire() -> None:
            from twisted.internet import reactor

            if self.forced is None:
                self.forced = DEADLINE
                self._exit_anyway_later()
                reactor.callFromThread(self._stop_now)

        timer = threading.Timer(max(0.0, delay), fire)
        timer.daemon = True
        timer.start()
        return timer

    def _stop_now(self) -> None:
        logger.error("stopping at once (%s): spilling the unwritten batch; what was stored stays stored",
                     "run deadline passed and the graceful close did not end" if self.forced == DEADLINE
                     else f"{self.forced} received twice")
        for crawler in list(self.crawlers):
            spill_unwritten(crawler)
            crawler.crawling = False  # so the reactor's shutdown does not wait for the graceful close
        self._stop_reactor()

    def _exit_anyway_later(self) -> None:
        timer = threading.Timer(FORCE_EXIT_S, self._hard_exit)
        timer.daemon = True
        timer.start()

    def exit_code(self) -> int:
        if self.forced == DEADLINE:
            return EXIT_DEADLINE
        return SIGNAL_EXITS.get(getattr(signal, self.forced or "", None), 1)

    def _hard_exit(self) -> None:
        try:
            sys.stderr.write(f"newscrawler: the run did not stop within {FORCE_EXIT_S:.0f} s; exiting now\n")
            self._stop_embedded_server()
            logging.shutdown()
        finally:
            os._exit(self.exit_code())

    def _stop_embedded_server(self) -> None:
        server = getattr(self.store, "server", None)
        if server is not None:
            server.stop(timeout=5)

    def finish_forced(self, crawler) -> None:
        """After the reactor stopped at once: close the run record (bounded), stop the embedded server this
        run started, and exit without waiting for anything else (a hung database call, say)."""
        from newscrawler.cli.common import run_recorder

        recorder = run_recorder(crawler)
        code = self.exit_code()
        message = f"stopped at once ({self.forced})"
        if recorder is not None:
            recorder.close_forced(self.forced, code)
            message = (recorder.result or {}).get("message", message)
        print(f"newscrawler: exit {code}: {message}; log: {crawler.settings.get('NEWSCRAWLER_LOG_FILE')}",
              file=sys.stderr)
        self._stop_embedded_server()
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def spill_unwritten(crawler) -> None:
    """Write what the pipelines hold that is not in the database yet — the store's batch, and the items dedup and
    the normalise stage were holding — to the run's spill file."""
    from newscrawler.pipelines.dedup import DedupPipeline
    from newscrawler.pipelines.normalise import NormalisePipeline
    from newscrawler.pipelines.store import StorePipeline

    try:
        pipeline = crawler.get_item_pipeline(StorePipeline)
        dedup = crawler.get_item_pipeline(DedupPipeline)
        normalise = crawler.get_item_pipeline(NormalisePipeline)
    except RuntimeError:
        return
    if pipeline is not None:
        upstream = (normalise.unfinished() if normalise is not None else []) + \
            (dedup.undecided() if dedup is not None else [])
        count, path = pipeline.spill_buffer(upstream)
        if count:
            logger.error("%d fetched article(s) not yet stored kept in %s (`newscrawler db load-spill %s`)",
                         count, path, path)
