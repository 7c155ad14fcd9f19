"""`newscrawler reprocess [SITE ...] [--since WHEN] [--until WHEN]`: run today's extraction, normalisation and
dedup over the archived article pages and update the stored articles in place (spiders/reprocess.py)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from newscrawler.cli.common import EXIT_USAGE, Job, JobRefused, refused, run_recorder
from newscrawler.profiles import ProfileError, select_profiles

EXIT_NOTHING_ARCHIVED = 1


def add_parser(sub) -> None:
    p = sub.add_parser(
        "reprocess", help="re-extract stored articles from the raw-page archive (after an extractor fix)",
        description="Run the current extraction, normalisation and dedup over the article pages kept in "
                    "DATA_DIR/archive (each article's newest archived fetch) and update the stored articles "
                    "in place: changed fields are written, and an article whose versioned fields changed gets "
                    "a version. Running it again changes nothing; a run that was stopped can simply be run again.")
    p.add_argument("sites", nargs="*", metavar="SITE", help="portal short names (default: every archived portal)")
    p.add_argument("--since", type=_when, metavar="WHEN",
                   help="only articles whose newest archived copy was fetched on or after WHEN (UTC; "
                        "YYYY-MM-DD or an ISO 8601 time)")
    p.add_argument("--until", type=_when, metavar="WHEN", help="… fetched before WHEN")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=run)


def _when(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-03-23 or a time like "
                                         "2024-03-23T02:15:00Z") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def run(args) -> int:
    try:
        profiles = select_profiles(args.sites) if args.sites else []
    except ProfileError as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.since and args.until and args.since >= args.until:
        print("newscrawler reprocess: --since must be before --until", file=sys.stderr)
        return EXIT_USAGE
    from newscrawler.spiders.reprocess import ReprocessSpider

    try:
        with Job(args, "reprocess") as job:
            spider_args = {"site": ",".join(p.site for p in profiles),
                           "since": args.since.isoformat() if args.since else None,
                           "until": args.until.isoformat() if args.until else None}
            crawler = job.run(ReprocessSpider, {}, **spider_args)
            return report(crawler, args, job.settings()["MONGO_URI"])
    except JobRefused as exc:
        return refused(exc)


def report(crawler, args, uri: str) -> int:
    """Print what changed, per field and per article; the exit status."""
    stats = crawler.stats.get_stats() if crawler.stats else {}
    spider = crawler.spider
    recorder = run_recorder(crawler)
    result = recorder.result if recorder is not None else None
    if result is None:
        print("newscrawler: the reprocess did not start; see the log above", file=sys.stderr)
        return 1
    changed = getattr(spider, "changed", {})
    versioned = getattr(spider, "versioned", set())
    fields: dict[str, int] = {}
    for names in changed.values():
        for name in names:
            fields[name] = fields.get(name, 0) + 1
    archived = stats.get("reprocess/articles", 0)
    a = result["articles"]
    summary = {
        "run": str(recorder.run_id), "status": result["message"], "exitCode": result["exitCode"],
        "archived": archived, "pages": stats.get("reprocess/pages", 0),
        "articles": {**a, "versioned": len(versioned), "storedLater": stats.get("reprocess/stored_later", 0)},
        "fields": dict(sorted(fields.items(), key=lambda kv: (-kv[1], kv[0]))),
        "changed": {url: {"fields": names, "version": url in versioned} for url, names in sorted(changed.items())},
        "damagedFiles": [str(d) for d in getattr(spider, "damaged", [])], "errors": result["errorCount"],
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        from newscrawler.store import redact_uri

        print(f"reprocess {summary['run']}: {result['message']}; {archived} archived articles "
              f"({summary['pages']} pages): updated {a['updated']} ({len(versioned)} with a new version), "
              f"unchanged {a['unchanged']}, new {a['new']}, dropped {a['dropped']}, kept as stored (fetched again "
              f"later) {summary['articles']['storedLater']}, errors {result['errorCount']}; database {redact_uri(uri)}")
        if fields:
            print("changed fields: " + ", ".join(f"{name} {n}" for name, n in summary["fields"].items()))
            for url, change in summary["changed"].items():
                print(f"  {url}  {', '.join(change['fields'])}{'' if change['version'] else '  (no version)'}")
        for damage in summary["damagedFiles"]:
            print(f"warning: {damage}", file=sys.stderr)
    if not archived and not result["exitCode"]:
        sites = f" for {', '.join(args.sites)}" if args.sites else ""
        print(f"newscrawler reprocess: nothing to reprocess: no archived article page{sites} in "
              f"{crawler.settings.get('NEWSCRAWLER_DATA_DIR')}/archive matches", file=sys.stderr)
        return EXIT_NOTHING_ARCHIVED
    return result["exitCode"]
