"""What several subcommands share: opening the store with plain-worded failures, and the frame of a
writing job (crawl, import): one writer per data directory, a log file per run, one Scrapy process."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newscrawler import config
from newscrawler.runlock import RunLock, RunLocked
from newscrawler.store import Store, StoreError

EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_LOCKED = 75  # EX_TEMPFAIL: cron may simply try again next time


def open_store(args) -> Store | None:
    """The store for --data-dir / MONGO_URI, or None after printing why it cannot be reached."""
    try:
        return Store.open(data_dir=config.data_dir(args.data_dir))
    except StoreError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return None


def setup_logging(log_file: Path, level: str) -> None:
    """Every run logs to its own file as well as to stderr (cron mails stderr; the file stays)."""
    fmt = logging.Formatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in (logging.StreamHandler(sys.stderr), logging.FileHandler(log_file, encoding="utf-8")):
        handler.setFormatter(fmt)
        handler.setLevel(level)
        root.addHandler(handler)


class JobRefused(Exception):
    """The job cannot start; `code` is the exit status and the message says why."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Job:
    """A writing job: holds the data directory's run lock, logs to `logs/<kind>-<time>-<pid>.log` and
    stderr, and keeps the store (and the embedded server it may have started) open until it ends."""

    def __init__(self, args, kind: str):
        self.args = args
        self.kind = kind
        self.data_dir = config.data_dir(args.data_dir)
        self.stack = ExitStack()

    def __enter__(self) -> Job:
        try:
            self.stack.enter_context(RunLock(self.data_dir))
        except RunLocked as exc:
            self.stack.close()
            raise JobRefused(EXIT_LOCKED, str(exc)) from None
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(exist_ok=True)
        self.log_file = log_dir / f"{self.kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
        setup_logging(self.log_file, self.args.log_level)
        store = open_store(self.args)
        if store is None:
            self.stack.close()
            raise JobRefused(EXIT_STORE, "")
        self.stack.callback(store.close)
        self.store = store
        missing = store.needs_reindex()
        if missing:
            # A store written by an older newscrawler (or another machine's data directory): once, before writing.
            log = logging.getLogger("newscrawler.reindex")
            log.warning("building the %s for the articles already stored (once; `db reindex` does the same)",
                        " and ".join(missing))
            log.warning("done: %s", store.reindex())
        return self

    def __exit__(self, *exc: object) -> None:
        print(f"log: {self.log_file}", file=sys.stderr)
        self.stack.close()

    def settings(self) -> dict[str, Any]:
        return {"MONGO_URI": self.store.uri, "NEWSCRAWLER_DATA_DIR": str(self.data_dir),
                "NEWSCRAWLER_LOG_FILE": str(self.log_file), "LOG_LEVEL": self.args.log_level}


def run_spider(spider: type | str, overrides: dict[str, Any], **spider_args: Any):
    """Run one spider to the end in this process with the project's settings; returns its Crawler."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newscrawler.settings")
    settings = get_project_settings()
    settings.setdict(overrides, priority="cmdline")
    # Our handlers (stderr + the run's file) are installed already; Scrapy must not add its own.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider)
    process.crawl(crawler, **spider_args)
    process.start()
    return crawler


def run_recorder(crawler):
    """The crawl's RunRecorder, or None when the crawl never got as far as building its extensions."""
    from newscrawler.extensions.run import RunRecorder

    try:
        return crawler.get_extension(RunRecorder)
    except RuntimeError:
        return None


def refused(exc: JobRefused) -> int:
    if str(exc):
        print(f"newscrawler: {exc}", file=sys.stderr)
    return exc.code
