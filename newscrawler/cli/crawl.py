"""`newscrawler crawl [SITE ...]`: one cron-ready run over the named portals (default: every enabled one)."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from newscrawler import config
from newscrawler.cli.common import EXIT_STORE, EXIT_USAGE, open_store
from newscrawler.profiles import ProfileError, select_profiles
from newscrawler.runlock import RunLock, RunLocked
from newscrawler.store import redact_uri

EXIT_LOCKED = 75  # EX_TEMPFAIL: cron may simply try again next time


def add_parser(sub) -> None:
    p = sub.add_parser("crawl", help="crawl portals into the store (one cron-ready run)",
                       description="Crawl the named portals (default: every enabled profile) into MongoDB. "
                                   "Exit 0 on success; non-zero when a portal failed outright or nothing "
                                   "could be stored.")
    p.add_argument("sites", nargs="*", metavar="SITE", help="portal short names, e.g. jzrb dahe")
    p.add_argument("--backfill", action="store_true",
                   help="page through columns past pages whose articles are all known")
    p.add_argument("--replay", metavar="DIR_OR_URL",
                   help="crawl a recorded copy of the portals instead of the real ones: a recording directory "
                        "(served from 127.0.0.1 for this run; see `replay generate`) or the http:// address "
                        "of a running `replay serve`")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=run)


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


def run(args) -> int:
    data_dir = config.data_dir(args.data_dir)
    try:
        profiles = select_profiles(args.sites or None)
    except ProfileError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not profiles:
        print("newscrawler: no enabled portal profile to crawl", file=sys.stderr)
        return EXIT_USAGE
    with ExitStack() as stack:
        try:
            stack.enter_context(RunLock(data_dir))
        except RunLocked as exc:
            print(f"newscrawler: {exc}", file=sys.stderr)
            return EXIT_LOCKED
        log_dir = data_dir / "logs"
        log_dir.mkdir(exist_ok=True)
        log_file = log_dir / f"crawl-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.log"
        setup_logging(log_file, args.log_level)
        store = open_store(args)
        if store is None:
            return EXIT_STORE
        stack.callback(store.close)
        logging.getLogger("newscrawler").info("crawling %s into %s; log file %s",
                                              ", ".join(p.site for p in profiles), store.display_uri, log_file)
        overrides = {"MONGO_URI": store.uri, "NEWSCRAWLER_DATA_DIR": str(data_dir),
                     "NEWSCRAWLER_LOG_FILE": str(log_file), "NEWSCRAWLER_BACKFILL": args.backfill,
                     "LOG_LEVEL": args.log_level}
        if args.replay:
            overrides.update(replay_settings(stack, args.replay))
        code = crawl(profiles=[p.site for p in profiles], overrides=overrides)
        print(f"log: {log_file}", file=sys.stderr)
        return code


def replay_settings(stack: ExitStack, replay: str) -> dict:
    """Route the real portal URLs to a recording through a proxy on 127.0.0.1; no politeness delays
    are needed against our own server."""
    if replay.startswith("http://"):
        proxy_url = replay
    else:
        from newscrawler.replay.server import ReplayServer

        server = ReplayServer(Path(replay))
        server.start()
        stack.callback(server.stop)
        proxy_url = server.proxy_url
    os.environ["http_proxy"] = proxy_url
    os.environ.pop("no_proxy", None)
    return {"NEWSCRAWLER_IGNORE_POLITENESS": True, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0,
            "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16}


def crawl(profiles: list[str], overrides: dict) -> int:
    """Run the portal spider once in this process and return the run's exit status."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newscrawler.settings")
    settings = get_project_settings()
    settings.setdict(overrides, priority="cmdline")
    # Our handlers (stderr + the run's file) are installed already; Scrapy must not add its own.
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler("portal")
    process.crawl(crawler, site=",".join(profiles))
    process.start()
    recorder = getattr(crawler, "_newscrawler_recorder", None)
    if recorder is None or recorder.result is None:
        print("newscrawler: the crawl did not start; see the log above", file=sys.stderr)
        return 1
    result = recorder.result
    a = result["articles"]
    print(f"run {recorder.run_id}: {result['message']}; pages fetched {result['pagesFetched']}, articles new "
          f"{a['new']}, updated {a['updated']}, unchanged {a['unchanged']}, dropped {a['dropped']}, "
          f"errors {result['errorCount']}; database {redact_uri(overrides['MONGO_URI'])}")
    return result["exitCode"]
