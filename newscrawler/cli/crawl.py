"""`newscrawler crawl [SITE ...]`: one cron-ready run over the named portals (default: every enabled one)."""

from __future__ import annotations

import logging
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from newscrawler.cli.common import (
    EXIT_USAGE,
    Interrupted,
    Job,
    JobRefused,
    parse_duration,
    project_settings,
    refused,
    report,
)
from newscrawler.cli.replay import add_fault_option, import_replay, parse_faults
from newscrawler.profiles import ProfileError, select_profiles


def add_parser(sub) -> None:
    p = sub.add_parser("crawl", help="crawl portals into the store (one cron-ready run)",
                       description="Crawl the named portals (default: every enabled profile) into MongoDB. "
                                   "Exit 0 on success; 1 a portal failed outright, 2 nothing could be stored "
                                   "(or a usage error), 3 the database failed, 4 a portal is degraded (see "
                                   "`newscrawler db health`), 5 stopped at the run deadline, 75 another crawl "
                                   "holds the lock, 130/143 stopped by SIGINT/SIGTERM. When stdout is not a "
                                   "terminal (cron) a successful run prints nothing and any other prints a short "
                                   "summary; the log file keeps everything.")
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
    p.add_argument("--max-runtime", metavar="DURATION",
                   help="close the run gracefully after this long and exit 5, e.g. 4h, 90m, 1h30m, 600 (seconds); "
                        "0 = no limit (default: $NEWSCRAWLER_MAX_RUNTIME, else 4h)")
    p.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE", dest="settings",
                   help="a Scrapy setting for this run, as `scrapy crawl -s` takes it (repeatable), e.g. "
                        "-s STORE_BATCH_SIZE=50 -s CONCURRENT_REQUESTS_PER_DOMAIN=2")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=run)


def parse_settings(pairs: list[str]) -> dict[str, str]:
    """`-s NAME=VALUE` arguments as a dict; ValueError names the one without a `=`."""
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"-s {pair!r} is not NAME=VALUE")
        settings[name.strip()] = value
    return settings


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
        overrides = parse_settings(args.settings)
    except ValueError as exc:
        print(f"newscrawler crawl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    overrides |= {"NEWSCRAWLER_BACKFILL": args.backfill, "NEWSCRAWLER_RECHECK": args.recheck}
    max_runtime = getattr(args, "max_runtime", None)
    if max_runtime is not None:
        try:
            parse_duration(max_runtime)
        except ValueError as exc:
            print(f"newscrawler crawl: --max-runtime {exc}", file=sys.stderr)
            return EXIT_USAGE
        overrides["NEWSCRAWLER_MAX_RUNTIME"] = max_runtime
    return crawl_job(args, args.sites or None, project_settings(overrides),
                     replay=(args.replay, replay_server, faults) if args.replay else None)


def crawl_job(args, sites: list[str] | None, settings, replay: tuple | None = None, **spider_args) -> int:
    """One crawl run, for `newscrawler crawl` and `scrapy crawl portal` alike: the portals checked first,
    then the lock, the log file, the store, the spider, the run record, the summary and the exit status."""
    # A broken profile is reported and fails the run (exit 2), but the healthy portals are still crawled: one
    # bad file must not stop every portal. A broken profile that was not asked for (other sites named) is
    # only reported.
    broken: list[ProfileError] = []
    try:
        profiles = select_profiles(sites, broken=broken)
    except ProfileError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not profiles:
        for exc in broken:
            print(f"newscrawler: {exc}", file=sys.stderr)
        print("newscrawler: no enabled portal profile to crawl", file=sys.stderr)
        return EXIT_USAGE
    try:
        parse_duration(settings.get("NEWSCRAWLER_MAX_RUNTIME"))
    except ValueError as exc:
        print(f"newscrawler: NEWSCRAWLER_MAX_RUNTIME {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with Job(args, "crawl", settings) as job:
            logging.getLogger("newscrawler").info("crawling %s into %s; log file %s", ", ".join(
                p.site for p in profiles), job.store.display_uri, job.log_file)
            overrides = replay_settings(job.stack, replay[0], *replay[1:]) if replay else {}
            crawler = job.run("portal", overrides, site=",".join(p.site for p in profiles), **spider_args)
            code = report(job, crawler, job.store.display_uri)
            return broken_profiles_fail(job, broken, code) if broken else code
    except JobRefused as exc:
        return refused(exc)
    except Interrupted as exc:
        print(f"newscrawler: {exc} before the crawl started; nothing was fetched", file=sys.stderr)
        return exc.code


def broken_profiles_fail(job: Job, broken: list[ProfileError], code: int) -> int:
    """The crawl of the healthy portals is over; the broken profiles make the run fail (exit 2 unless it
    failed worse), in its record too."""
    names = [str(exc) for exc in broken]
    message = f"{len(broken)} broken portal profile(s) left out: {'; '.join(names)}"
    print(f"newscrawler: {message}", file=sys.stderr)
    code = EXIT_USAGE if code in (0, 4) else code
    run = job.store.runs.last()
    if run is not None:
        job.store.runs.finish(run["_id"], {"brokenProfiles": names, "status": "failed", "exitCode": code,
                                           "message": f"{message}; {run.get('message', '')}",
                                           "endedAt": run.get("endedAt")})
    return code


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

