"""What several subcommands share: opening the store with plain-worded failures, and the frame of a
writing job (crawl, import): one writer per data directory, a log file per run, one Scrapy process."""

from __future__ import annotations

import logging
import os
import shutil
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newscrawler import config
from newscrawler.runlock import RunLock, RunLocked
from newscrawler.store import Store, StoreConfigError, StoreError

EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_LOCKED = 75  # EX_TEMPFAIL: cron may simply try again next time


def open_store(args) -> Store | None:
    """The store for --data-dir / MONGO_URI, or None after printing why it cannot be reached. A malformed
    MONGO_URI is a usage error: exit 2 at once, one line naming it (without its password)."""
    try:
        return Store.open(data_dir=config.data_dir(args.data_dir))
    except StoreConfigError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    except StoreError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return None


# A log record longer than this is cut (a 19.8 MB document in an error message once went to cron's mail).
MAX_LOG_RECORD = 8000
# A run does not start with less free space than this on the data directory's file systems.
MIN_FREE_MB = int(os.environ.get("NEWSCRAWLER_MIN_FREE_MB", "100"))


class BoundedFormatter(logging.Formatter):
    """Log records of bounded length: what is past MAX_LOG_RECORD characters is replaced by a count."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if len(text) > MAX_LOG_RECORD:
            text = f"{text[:MAX_LOG_RECORD]} … [{len(text) - MAX_LOG_RECORD} more characters cut]"
        return text


class RunLogFile(logging.FileHandler):
    """The run's log file (owner-only). When it cannot be written (a full disk), one line on stderr says so
    and the run logs to stderr alone, instead of a "Logging error" traceback for every record."""

    failed = False

    def _open(self):
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):
            super().handleError(record)
            return
        self.failed = True
        print(f"newscrawler: the log file {self.baseFilename} cannot be written ({exc.strerror or exc}); logging to "
              "stderr only from now on", file=sys.stderr)


def setup_logging(log_file: Path, level: str) -> None:
    """Every run logs to its own file as well as to stderr (cron mails stderr; the file stays)."""
    fmt = BoundedFormatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in (logging.StreamHandler(sys.stderr), RunLogFile(log_file, encoding="utf-8")):
        handler.setFormatter(fmt)
        handler.setLevel(level)
        root.addHandler(handler)


def preflight(data_dir: Path, embedded: bool) -> None:
    """Before a writing job starts: the data directory and its logs/, spill/ (and db/ for the embedded
    database) exist, are the owner's alone, can be written, and have room. JobRefused in one line if not."""
    folders = {"": "its lock", "logs": "its log", "spill": "what the database cannot take"}
    if embedded:
        folders["db"] = "the database"
    for name, what in folders.items():
        folder = data_dir / name
        probe = folder / f".write-test-{os.getpid()}"
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, b"ok")
                os.fsync(fd)
            finally:
                os.close(fd)
                probe.unlink(missing_ok=True)
        except OSError as exc:
            raise JobRefused(EXIT_USAGE, f"cannot write to {folder}: {exc.strerror or exc}; the run could not keep "
                                         f"{what} (see --data-dir)") from None
        try:
            if folder.stat().st_mode & 0o077:
                os.chmod(folder, 0o700)
        except OSError:
            pass
    for name in folders:
        free_mb = shutil.disk_usage(data_dir / name).free // 2**20
        if free_mb < MIN_FREE_MB:
            raise JobRefused(EXIT_USAGE, f"only {free_mb} MB free for {data_dir / name}; a run needs at least "
                                         f"{MIN_FREE_MB} MB (NEWSCRAWLER_MIN_FREE_MB) so that nothing it fetches is "
                                         "lost: free some space")


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
        try:
            self.data_dir = config.data_dir(args.data_dir)
        except OSError as exc:
            where = args.data_dir or os.environ.get("NEWSCRAWLER_DATA_DIR") or "var"
            raise JobRefused(EXIT_USAGE, f"cannot create the data directory {where}: {exc.strerror or exc} "
                                         "(see --data-dir)") from None
        self.stack = ExitStack()

    def __enter__(self) -> Job:
        # Files this run creates (logs, spill files, the database's) are the owner's alone.
        os.umask(0o077)
        preflight(self.data_dir, embedded=not config.mongo_uri())
        try:
            self.stack.enter_context(RunLock(self.data_dir))
        except RunLocked as exc:
            self.stack.close()
            raise JobRefused(EXIT_LOCKED, str(exc)) from None
        log_dir = self.data_dir / "logs"
        self.log_file = log_dir / f"{self.kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
        setup_logging(self.log_file, self.args.log_level)
        store = open_store(self.args)
        if store is None:
            self.stack.close()
            raise JobRefused(EXIT_STORE, "")
        self.stack.callback(store.close)
        self.store = store
        # What earlier runs kept when the database went away goes in first (clustered through dedup).
        from newscrawler import spill

        try:
            self.spills_loaded = spill.load_pending(store, self.data_dir)
        except StoreError as exc:
            self.stack.close()
            raise JobRefused(EXIT_STORE, f"{exc}; the spill files are loaded next time") from None
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
