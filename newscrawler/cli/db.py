"""`newscrawler db …`: inspect the store (every query goes through newscrawler.store)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

from bson import ObjectId

from newscrawler.cli.common import EXIT_STORE, open_store


def add_parser(sub) -> None:
    p = sub.add_parser("db", help="inspect what is stored")
    dbsub = p.add_subparsers(dest="db_command", required=True, metavar="WHAT")
    stats = dbsub.add_parser("stats", help="article total, counts per portal and per day, the last run")
    stats.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    stats.set_defaults(func=cmd_stats)
    runs = dbsub.add_parser("runs", help="the most recent crawl runs")
    runs.add_argument("--limit", type=int, default=10)
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=cmd_runs)
    clusters = dbsub.add_parser("clusters", help="story clusters: one story, every URL it appeared under")
    clusters.add_argument("--limit", type=int, default=0, help="most recently grown first; 0 = all")
    clusters.add_argument("--json", action="store_true", help="one JSON object per cluster and line")
    clusters.set_defaults(func=cmd_clusters)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default, sort_keys=False)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, ObjectId):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def cmd_stats(args) -> int:
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        stats = store.stats()
    if args.json:
        print(to_json(stats))
        return 0
    print(f"articles: {stats['articles']}  ({store.display_uri})")
    print("per portal:")
    for site, n in stats["perSite"].items():
        print(f"  {site:<12} {n:>8}")
    print("per day (publication date, Asia/Shanghai, latest first):")
    for day, n in list(stats["perDay"].items())[:14]:
        print(f"  {day}   {n:>8}")
    print_run(stats["lastRun"])
    return 0


def print_run(run: dict | None) -> None:
    if not run:
        print("last run: none yet")
        return
    a = run.get("articles", {})
    print(f"last run: {run['_id']} {run.get('status')} (exit {run.get('exitCode')}) "
          f"{_fmt(run.get('startedAt'))} → {_fmt(run.get('endedAt'))}")
    print(f"  portals {', '.join(run.get('portals', []))}; pages fetched {run.get('pagesFetched', 0)}; "
          f"articles new {a.get('new', 0)}, updated {a.get('updated', 0)}, unchanged {a.get('unchanged', 0)}, "
          f"dropped {a.get('dropped', 0)} {run.get('dropReasons') or ''}; errors {run.get('errorCount', 0)}")
    if run.get("message") and run.get("message") != "ok":
        print(f"  {run['message']}")


def _fmt(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else "—"


def cmd_runs(args) -> int:
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        runs = store.runs(args.limit)
    for run in runs:
        if args.json:
            print(to_json(run))
        else:
            print_run(run)
    if not runs and not args.json:
        print("no runs yet", file=sys.stderr)
    return 0


def cmd_clusters(args) -> int:
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        clusters = list(store.dedup.iter_clusters(limit=args.limit))
    for c in clusters:
        if args.json:
            print(to_json(c))
            continue
        print(f"{c['cluster']}  {c['size']} articles  {c.get('headline') or ''}")
        for m in c["members"]:
            mark = "*" if m["url"] == c["canonical"] else " "
            print(f"  {mark} {m['url']}  ({m.get('site')}, {m.get('source') or '—'}, "
                  f"first seen {_fmt(m.get('firstSeen'))})")
    if not clusters and not args.json:
        print("no story seen more than once yet", file=sys.stderr)
    return 0
