"""`newscrawler crawl [SITE ...]`: one cron-ready run over the named portals (default: every enabled one)."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from newscrawler import config
from newscrawler.cli.common import EXIT_USAGE, Job, JobRefused, refused, run_recorder, run_spider
from newscrawler.cli.replay import add_fault_option, import_replay, parse_faults
from newscrawler.profiles import ProfileError, select_profiles
from newscrawler.store import naming_database, redact_uri


def add_parser(sub) -> None:
    p = sub.add_parser("crawl", help="crawl portals into the store (one cron-ready run)",
                       description="Crawl the named portals (default: every enabled profile) into MongoDB. "
                                   "Exit 0 on success; non-zero when a portal failed outright or nothing "
                                   "could be stored; 4 when a portal is degraded (see `newscrawler db health`).")
    p.add_argument("sites", nargs="*", metavar="SITE", help="portal short names, e.g. jzrb dahe")
    p.add_argument("--backfill", action="store_true",
                   help="page through columns past pages whose articles are all known")
    p.add_argument("--recheck", action="store_true",
                   help="fetch known articles on the column pages walked again; an edited one gets a version")
    p.add_argument("--replay", metavar="DIR_OR_URL",
                   help="crawl a recorded copy of the portals instead of the real ones: a recording directory "
                        "(served from 127.0.0.1 for this run; see `replay generate`) or the http:// address "
                        "of a running `replay serve`; a directory needs the development install")
    add_fault_option(p, needs="with --replay DIR: ")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=run)


def run(args) -> int:
    replay_server, faults = None, []
    fault_specs = args.fault
    if fault_specs and (not args.replay or args.replay.startswith("http://")):
        print("newscrawler crawl: --fault needs --replay DIR (a replay served for this run); a running `replay "
              "serve` takes its own --fault", file=sys.stderr)
        return EXIT_USAGE
    if args.replay and not args.replay.startswith("http://"):
        # Before the run lock and the store: without the development install this is a usage error.
        replay_server = import_replay("server", "crawl --replay").ReplayServer
        faults = parse_faults(fault_specs, "crawl --replay")
        if not (Path(args.replay) / "routes.json").is_file():
            print(f"newscrawler crawl: --replay {args.replay} holds no recording (make one with `newscrawler replay "
                  f"generate {args.replay}`)", file=sys.stderr)
            return EXIT_USAGE
    try:
        profiles = select_profiles(args.sites or None)
    except ProfileError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not profiles:
        print("newscrawler: no enabled portal profile to crawl", file=sys.stderr)
        return EXIT_USAGE
    try:
        with Job(args, "crawl") as job:
            logging.getLogger("newscrawler").info("crawling %s into %s; log file %s", ", ".join(
                p.site for p in profiles), job.store.display_uri, job.log_file)
            overrides = {**job.settings(), "NEWSCRAWLER_BACKFILL": args.backfill, "NEWSCRAWLER_RECHECK": args.recheck}
            if args.replay:
                overrides.update(replay_settings(job.stack, args.replay, replay_server, faults))
            return crawl(profiles=[p.site for p in profiles], overrides=overrides)
    except JobRefused as exc:
        return refused(exc)


def replay_settings(stack: ExitStack, replay: str, server_class: type | None = None, faults: list = ()) -> dict:
    """Route the real portal URLs to a recording through a proxy on 127.0.0.1; no politeness delays
    are needed against our own server. A recording directory is served by `server_class` (the replay
    package's ReplayServer) for this run, with the faults asked for."""
    if replay.startswith("http://"):
        proxy_url = replay
    else:
        server = server_class(Path(replay), faults=faults)
        server.start()
        stack.callback(server.stop)
        proxy_url = server.proxy_url
    os.environ["http_proxy"] = proxy_url
    os.environ.pop("no_proxy", None)
    return {"NEWSCRAWLER_IGNORE_POLITENESS": True, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0,
            "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16}


def crawl(profiles: list[str], overrides: dict) -> int:
    """Run the portal spider once in this process and return the run's exit status."""
    crawler = run_spider("portal", overrides, site=",".join(profiles))
    recorder = run_recorder(crawler)
    if recorder is None or recorder.result is None:
        print("newscrawler: the crawl did not start; see the log above", file=sys.stderr)
        return 1
    result = recorder.result
    a = result["articles"]
    database = naming_database(redact_uri(overrides["MONGO_URI"]), config.database_name())
    print(f"run {recorder.run_id}: {result['message']}; pages fetched {result['pagesFetched']}, articles new "
          f"{a['new']}, updated {a['updated']}, unchanged {a['unchanged']}, dropped {a['dropped']}, "
          f"errors {result['errorCount']}; database {database}")
    return result["exitCode"]
