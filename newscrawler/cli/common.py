"""What several subcommands share: opening the store with plain-worded failures, and the frame of a
writing job (crawl, import — and `scrapy crawl`, which runs through the same frame): one writer per data
directory, old logs pruned, a log file per run, one Scrapy process that stops gracefully at its deadline or
on SIGTERM/SIGINT, and at once on a second signal."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import sys
import time
from argparse import Namespace
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newscrawler import config
from newscrawler.runlock import RunLock, RunLocked

if TYPE_CHECKING:
    from newscrawler.store import Store

EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_DEADLINE = 5
EXIT_LOCKED = 75  # EX_TEMPFAIL: cron may simply try again next time
EXIT_SIGINT = 130  # 128 + the signal's number, as a shell reports it
EXIT_SIGTERM = 143
SIGNAL_EXITS = {signal.SIGINT: EXIT_SIGINT, signal.SIGTERM: EXIT_SIGTERM}
# Settings an operator may give in the environment (cron, docker compose) as well as with `-s`; `-s` wins.
ENV_SETTINGS = ("NEWSCRAWLER_MAX_RUNTIME", "NEWSCRAWLER_LOG_RETENTION_DAYS", "NEWSCRAWLER_ARCHIVE",
                "NEWSCRAWLER_ARCHIVE_DAYS")
# After the deadline a graceful close normally takes seconds (downloads are cut soon after); if it has not
# ended this much later (a hung database write, say), the run is stopped at once so the lock is freed.
# Setting NEWSCRAWLER_STOP_GRACE.
STOP_GRACE_S = 120.0
# The second signal's stop writes the spill file and the run record; if even that hangs, exit anyway.
FORCE_EXIT_S = 10.0
MAX_SUMMARY_ERRORS = 5
MAX_SUMMARY_PORTALS = 10

logger = logging.getLogger("newscrawler")


class Interrupted(BaseException):
    """SIGTERM/SIGINT arrived while the job was starting (before Scrapy handles signals itself)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.code = SIGNAL_EXITS.get(signum, 128 + signum)


def open_store(args, uri: str | None = None) -> Store | None:
    """The store for --data-dir / MONGO_URI (or `uri`), or None after printing why it cannot be reached. A
    malformed MONGO_URI is a usage error: exit 2 at once, one line naming it (without its password)."""
    # Imported here, not with the module: pymongo takes ~0.5 s to import, and `--help`, `extract` and the
    # parser of every command import this module.
    from newscrawler.store import Store, StoreConfigError, StoreError

    try:
        return Store.open(uri=uri, data_dir=config.data_dir(args.data_dir))
    except StoreConfigError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE) from None
    except StoreError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return None


def parse_duration(value: str | float | int | None) -> float:
    """Seconds in `4h`, `90m`, `1h30m`, `45s` or a plain number of seconds; 0 (or empty) means no limit."""
    if value is None or value == "":
        return 0.0
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text, seconds = str(value).strip().lower(), 0.0
        import re

        parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", text)
        if not text or not parts:
            raise ValueError(f"{value!r} is not a duration (e.g. 4h, 90m, 1h30m, 600)")
        h, m, s = (float(p) if p else 0.0 for p in parts.groups())
        seconds = h * 3600 + m * 60 + s
    if seconds < 0:
        raise ValueError(f"{value!r} is negative")
    return seconds


def format_duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{n}{unit}" for n, unit in ((h, "h"), (m, "m"), (s, "s")) if n) or "0s"


def project_settings(overrides: dict[str, Any] | None = None):
    """The project's Scrapy settings, then ENV_SETTINGS from the environment, then `overrides`."""
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newscrawler.settings")
    settings = get_project_settings()
    apply_environment(settings)
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


def apply_environment(settings) -> None:
    for name in ENV_SETTINGS:
        if os.environ.get(name):
            settings.set(name, os.environ[name], priority="project")


def interactive() -> bool:
    """A person is watching (stdout is a terminal); otherwise this is cron, a container or a script."""
    return sys.stdout.isatty()


class ErrorLines(logging.Handler):
    """Keeps the first few ERROR lines of a run (first line of each) for the summary cron mails."""

    def __init__(self, limit: int = MAX_SUMMARY_ERRORS):
        super().__init__(logging.ERROR)
        self.limit = limit
        self.lines: list[str] = []
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.lines) < self.limit:
            try:
                self.lines.append(record.getMessage().splitlines()[0][:300])
            except Exception:  # noqa: BLE001 - a summary line is never worth a crash
                pass


# A log record longer than this is cut (a 19.8 MB document in an error message once went to cron's mail).
MAX_LOG_RECORD = 8000
# A run does not start with less free space than this on the data directory's file systems (MB), unless
# NEWSCRAWLER_MIN_FREE_MB says otherwise (read when the run starts).
MIN_FREE_MB = 100


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


def setup_logging(log_file: Path, level: str, quiet: bool = False) -> ErrorLines:
    """Every run logs everything to its own file. At a terminal the log also goes to stderr; when nobody
    watches (`quiet`: cron, a container) stderr gets only CRITICAL lines during the run, and the run ends
    with nothing printed on success or a short summary otherwise (see `report`)."""
    fmt = BoundedFormatter("%(asctime)s [%(name)s] %(levelname)s: %(message)s")
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(logging.CRITICAL if quiet else level)
    to_file = RunLogFile(log_file, encoding="utf-8")
    to_file.setLevel(level)
    for handler in (stderr, to_file):
        handler.setFormatter(fmt)
        root.addHandler(handler)
    errors = ErrorLines()
    root.addHandler(errors)
    logging.captureWarnings(True)
    return errors


def prune(directory: Path, pattern: str, days: float) -> list[Path]:
    """Delete the files matching `pattern` in `directory` last modified more than `days` ago."""
    if days <= 0 or not directory.is_dir():
        return []
    cutoff = time.time() - days * 86400
    removed = []
    for path in directory.glob(pattern):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:
            continue  # another process removed it, or it is not ours to remove: not worth failing a run
    return removed


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
    min_free_mb = int(os.environ.get("NEWSCRAWLER_MIN_FREE_MB", MIN_FREE_MB))
    for name in folders:
        free_mb = shutil.disk_usage(data_dir / name).free // 2**20
        if free_mb < min_free_mb:
            raise JobRefused(EXIT_USAGE, f"only {free_mb} MB free for {data_dir / name}; a run needs at least "
                                         f"{min_free_mb} MB (NEWSCRAWLER_MIN_FREE_MB) so that nothing it fetches is "
                                         "lost: free some space")


class JobRefused(Exception):
    """The job cannot start; `code` is the exit status and the message says why."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code


class Job:
    """A writing job: holds the data directory's run lock, prunes logs and loaded spill files older than
    NEWSCRAWLER_LOG_RETENTION_DAYS, logs to `logs/<kind>-<time>-<pid>.log` (and stderr at a terminal), and
    keeps the store (and the embedded server it may have started) open until it ends. `run()` runs one
    spider in it."""

    def __init__(self, args, kind: str, settings=None):
        self.args = args
        self.kind = kind
        try:
            self.data_dir = config.data_dir(args.data_dir)
        except OSError as exc:
            where = args.data_dir or os.environ.get("NEWSCRAWLER_DATA_DIR") or "var"
            raise JobRefused(EXIT_USAGE, f"cannot create the data directory {where}: {exc.strerror or exc} "
                                         "(see --data-dir)") from None
        self.settings_base = settings
        self.stack = ExitStack()
        # Quiet unless a person watches; a command may decide (the demo always shows what it did).
        self.quiet = not interactive() if getattr(args, "quiet", None) is None else args.quiet
        self.started = time.monotonic()

    def __enter__(self) -> Job:
        self._trap_signals()
        try:
            self._start()
        except BaseException:
            self.stack.close()
            raise
        return self

    def _start(self) -> None:
        # Files this run creates (logs, spill files, the database's) are the owner's alone.
        os.umask(0o077)
        try:
            embedded = not config.mongo_uri()
        except config.ConfigError:
            embedded = False  # reported, in one line, when the store is opened
        preflight(self.data_dir, embedded=embedded)
        try:
            self.stack.enter_context(RunLock(self.data_dir))
        except RunLocked as exc:
            raise JobRefused(EXIT_LOCKED, str(exc)) from None
        settings = self.base_settings()
        retention = settings.getfloat("NEWSCRAWLER_LOG_RETENTION_DAYS")
        log_dir = self.data_dir / "logs"
        log_dir.mkdir(exist_ok=True)
        pruned = prune(log_dir, "*.log", retention) + prune(self.data_dir / "spill", "*.jsonl.loaded", retention)
        self.log_file = log_dir / f"{self.kind}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
        self.errors = setup_logging(self.log_file, self.args.log_level, quiet=self.quiet)
        if pruned:
            logger.info("removed %d log and loaded spill file(s) older than %g days", len(pruned), retention)
        store = open_store(self.args, settings.get("MONGO_URI") or None)
        if store is None:
            raise JobRefused(EXIT_STORE, "")
        self.stack.callback(store.close)
        self.store = store
        missing = store.needs_reindex()
        if missing:
            # A store written by an older newscrawler (or another machine's data directory): once, before writing.
            log = logging.getLogger("newscrawler.reindex")
            log.warning("building the %s for the articles already stored (once; `db reindex` does the same)",
                        " and ".join(missing))
            log.warning("done: %s", store.reindex(parts=missing))
        # What earlier runs kept when the database went away goes in first (clustered through dedup).
        from newscrawler import spill
        from newscrawler.store import StoreError

        try:
            self.spills_loaded = spill.load_pending(store, self.data_dir)
        except StoreError as exc:
            raise JobRefused(EXIT_STORE, f"{exc}; the spill files are loaded next time") from None

    def _trap_signals(self) -> None:
        """Until Scrapy takes over signals, SIGTERM/SIGINT end the job through its cleanup (lock, store)."""
        def interrupt(signum: int, _frame: Any) -> None:
            raise Interrupted(signum)

        previous = {s: signal.signal(s, interrupt) for s in SIGNAL_EXITS}
        self.stack.callback(lambda: [signal.signal(s, h) for s, h in previous.items()])

    def __exit__(self, *exc: object) -> None:
        if not self.quiet:
            print(f"log: {self.log_file}", file=sys.stderr)
        self.stack.close()

    def settings(self) -> dict[str, Any]:
        """What every spider run in this job is told: where the store and the log are, that it holds the
        lock (NEWSCRAWLER_RUN: only then do components read or write the database), who runs it."""
        return {"MONGO_URI": self.store.uri, "NEWSCRAWLER_DATA_DIR": str(self.data_dir),
                "NEWSCRAWLER_LOG_FILE": str(self.log_file), "LOG_LEVEL": self.args.log_level,
                "NEWSCRAWLER_RUN": True, "NEWSCRAWLER_HOST": socket.gethostname()}

    def base_settings(self):
        if self.settings_base is None:
            self.settings_base = project_settings()
        return self.settings_base

    def run(self, spider: type | str, overrides: dict[str, Any], **spider_args: Any):
        """Run one spider to its end inside this job; returns its Crawler."""
        settings = self.base_settings().copy()
        settings.setdict({**self.settings(), **overrides}, priority="cmdline")
        return run_spider(spider, settings, job_started=self.started, store=self.store, **spider_args)


def run_spider(spider: type | str, settings, job_started: float | None = None, store: Store | None = None,
               **spider_args: Any):
    """Run one spider to the end in this process; returns its Crawler. `settings` is a Settings object or a
    dict of overrides to the project's settings. The run closes gracefully at NEWSCRAWLER_MAX_RUNTIME
    (counted from `job_started`) and on the first SIGTERM/SIGINT; see RunProcess for the rest."""
    from scrapy.settings import Settings

    if not isinstance(settings, Settings):
        settings = project_settings(settings)
    started = job_started if job_started is not None else time.monotonic()
    max_runtime = parse_duration(settings.get("NEWSCRAWLER_MAX_RUNTIME"))
    if max_runtime:
        remaining = max(1.0, max_runtime - (time.monotonic() - started))
        settings.set("CLOSESPIDER_TIMEOUT", remaining, priority="cmdline")
    settings.set("NEWSCRAWLER_MAX_RUNTIME", max_runtime, priority="cmdline")
    # Our handlers (the run's file, and stderr at a terminal) are installed already; Scrapy must not add its own.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    from newscrawler.cli.process import RunProcess

    process = RunProcess(settings, store=store)
    crawler = process.create_crawler(spider)
    process.crawl(crawler, **spider_args)
    watchdog = None
    if max_runtime:
        grace = settings.getfloat("NEWSCRAWLER_STOP_GRACE", STOP_GRACE_S)
        watchdog = process.watchdog(started + max_runtime + grace - time.monotonic())
    try:
        process.start()
    finally:
        if watchdog is not None:
            watchdog.cancel()
    if process.forced is not None:
        process.finish_forced(crawler)  # never returns
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


def report(job: Job, crawler, database: str) -> int:
    """The run's exit status, after saying what happened: at a terminal one line (the log was on stderr);
    otherwise nothing when the run succeeded and a summary of at most ~20 lines when it did not."""
    recorder = run_recorder(crawler)
    if recorder is None or recorder.result is None:
        print("newscrawler: the crawl did not start; see the log above" if not job.quiet else
              f"newscrawler: the crawl did not start; log: {job.log_file}", file=sys.stderr)
        for line in job.errors.lines:
            print(f"  {line}", file=sys.stderr)
        return 1
    result = recorder.result
    a = result["articles"]
    line = (f"run {recorder.run_id}: {result['message']}; pages fetched {result['pagesFetched']}, articles new "
            f"{a['new']}, updated {a['updated']}, unchanged {a['unchanged']}, dropped {a['dropped']}, "
            f"errors {result['errorCount']}; database {database}")
    if not job.quiet:
        print(line)
    elif result["exitCode"] != 0:
        print("\n".join(summary(result, line, job)), file=sys.stderr)
    return result["exitCode"]


def summary(result: dict[str, Any], line: str, job: Job) -> list[str]:
    """At most ~20 lines for cron's mail: what failed, each portal's counts, the first errors, the log file."""
    lines = [f"newscrawler {job.kind}: exit {result['exitCode']}: {result['message']}"[:400], line]
    failed = set(result.get("failedPortals") or ())
    degraded = set(result.get("degradedPortals") or ())
    portals = sorted((result.get("perPortal") or {}).items(),
                     key=lambda kv: (kv[0] not in failed, kv[0] not in degraded, kv[0]))
    for site, m in portals[:MAX_SUMMARY_PORTALS]:
        state = "FAILED" if site in failed else "DEGRADED" if site in degraded else "ok"
        lines.append(f"  {site:<10} {state:<8} listing pages {m.get('listing_pages', 0)}/"
                     f"{m.get('listing_requests', 0)}, article pages {m.get('article_pages', 0)}, new "
                     f"{m.get('articles_new', 0)}, updated {m.get('articles_updated', 0)}, errors {m.get('errors', 0)}")
    if len(portals) > MAX_SUMMARY_PORTALS:
        lines.append(f"  … and {len(portals) - MAX_SUMMARY_PORTALS} more portal(s): see `newscrawler db runs`")
    errors = [f"{e.get('url')}: {e.get('error')}" for e in (result.get("errors") or [])]
    shown = (errors or job.errors.lines)[:MAX_SUMMARY_ERRORS]
    if shown:
        total = max(result.get("errorCount") or 0, len(errors), job.errors.count)
        lines.append(f"first {len(shown)} of {total} error(s):")
        lines.extend(f"  {e}"[:300] for e in shown)
    lines.append(f"log: {job.log_file}")
    return lines


def scrapy_job_args(settings) -> Namespace:
    """The Job's arguments for a run started by `scrapy crawl` (its data directory and log level come from
    settings and the environment, as `newscrawler crawl` takes them from its options)."""
    return Namespace(data_dir=settings.get("NEWSCRAWLER_DATA_DIR") or None, log_level=settings.get("LOG_LEVEL"))
