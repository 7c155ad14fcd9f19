"""`newscrawler db …`: inspect the store (every query goes through newscrawler.store)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bson import ObjectId

from newscrawler.cli.common import EXIT_STORE, open_store

SHANGHAI = ZoneInfo("Asia/Shanghai")


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
    find = dbsub.add_parser("find", help="search stored articles (newest first)")
    find.add_argument("text", nargs="?", help="a word or phrase in the headline or body (either script)")
    find.add_argument("--site", help="portal short name, e.g. jzrb")
    find.add_argument("--source", help="the outlet a story came from, e.g. 央视网")
    find.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="published on or after (Asia/Shanghai)")
    find.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="published before (Asia/Shanghai)")
    find.add_argument("--limit", type=int, default=20, help="at most this many (0: all)")
    find.add_argument("--json", action="store_true", help="whole documents as JSON Lines")
    find.set_defaults(func=cmd_find)
    show = dbsub.add_parser("show", help="one stored article in full, by URL")
    show.add_argument("url")
    show.set_defaults(func=cmd_show)
    serve = dbsub.add_parser("serve", help="keep the embedded database server up (for mongosh and other tools)")
    serve.set_defaults(func=cmd_serve)
    spill = dbsub.add_parser("load-spill", help="store the articles a failed run kept in a spill file")
    spill.add_argument("path", help="DATA_DIR/spill/<run>.jsonl, as named in the failed run's record and log")
    spill.set_defaults(func=cmd_load_spill)
    clusters = dbsub.add_parser("clusters", help="story clusters: one story, every URL it appeared under")
    clusters.add_argument("--limit", type=int, default=0, help="most recently grown first; 0 = all")
    clusters.add_argument("--json", action="store_true", help="one JSON object per cluster and line")
    clusters.set_defaults(func=cmd_clusters)
    health = dbsub.add_parser("health", help="each portal's health: ok, degraded, failed or no data, and why")
    health.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    health.set_defaults(func=cmd_health)


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
    for site, m in sorted((run.get("perPortal") or {}).items()):
        print(f"  {site:<8} pages {m.get('listing_pages', 0)} listing + {m.get('article_pages', 0)} article; "
              f"new {m.get('articles_new', 0)}, updated {m.get('articles_updated', 0)}, "
              f"unchanged {m.get('articles_unchanged', 0)}; errors {m.get('errors', 0)}")
    if run.get("message") and run.get("message") != "ok":
        print(f"  {run['message']}")


def _utc(value: Any) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else "—"


def _fmt(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else "—"


def cmd_runs(args) -> int:
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        runs = store.runs.recent(args.limit)
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
        clusters = list(store.fingerprints.iter_clusters(limit=args.limit))
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


def cmd_load_spill(args) -> int:
    """Articles a run could not write (the database went away) go in now, as the crawl would have stored them."""
    path = Path(args.path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        print(f"newscrawler: cannot read spill file {path}: {exc.strerror}", file=sys.stderr)
        return 2
    items = []
    for number, line in enumerate(lines, 1):
        try:
            items.append(revive_dates(json.loads(line)))
        except ValueError as exc:
            print(f"newscrawler: {path}:{number}: not a JSON article ({exc}); nothing loaded", file=sys.stderr)
            return 2
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        counts = store.articles.write(items, final=True)
    path.rename(path.with_name(path.name + ".loaded"))
    print(f"loaded {len(items)} articles from {path}: new {counts.new}, updated {counts.updated}, "
          f"unchanged {counts.unchanged}")
    return 0


def revive_dates(item: dict[str, Any]) -> dict[str, Any]:
    """Spill files hold datetimes as ISO strings; the store keeps them as dates."""
    for key in ("datePublished", "dateModified", "fetchedAt"):
        value = item.get(key)
        if isinstance(value, str):
            item[key] = datetime.fromisoformat(value)
    return item


def _day(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=SHANGHAI)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-03-23") from None


def cmd_find(args) -> int:
    from newscrawler.normalise.script import to_simplified

    store = open_store(args)
    if store is None:
        return EXIT_STORE
    projection = None if args.json else {"site": 1, "headline": 1, "datePublished": 1, "source": 1,
                                         "canonicalUrl": 1, "_id": 0}
    # A Traditional query also finds Simplified pages (and, through their Simplified key, Traditional ones).
    texts = list(dict.fromkeys([args.text, to_simplified(args.text, "Hant")])) if args.text else None
    with store:
        docs = store.articles.search(site=args.site, since=args.since, until=args.until, source=args.source,
                            text=texts, limit=args.limit, projection=projection)
    for doc in docs:
        if args.json:
            print(to_json(doc))
            continue
        date = doc.get("datePublished")
        when = date.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if isinstance(date, datetime) else "—"
        print(f"{when}  [{doc.get('site')}] {doc.get('headline')}  (来源: {doc.get('source') or '—'})  "
              f"{doc.get('canonicalUrl')}")
    if not docs and not args.json:
        print("no article matches", file=sys.stderr)
    return 0


def cmd_show(args) -> int:
    from newscrawler.normalise.urls import canonical_url
    from newscrawler.profiles import profile_for_url

    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        doc = store.articles.find(canonical_url(args.url, profile_for_url(args.url)))
    if doc is None:
        print(f"newscrawler: no stored article has the URL {args.url}", file=sys.stderr)
        return 1
    print(json.dumps(doc, ensure_ascii=False, default=_default, indent=2))
    return 0


def cmd_serve(args) -> int:
    """Hold the embedded server open until interrupted, so other tools can connect to it."""
    import signal

    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        if store.server is None or not store.server.owned:
            print(f"a database is already being served: {store.display_uri}")
            return 0
        print(f"serving {store.display_uri} (data in {store.server.storage}); Ctrl-C stops it", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


def cmd_health(args) -> int:
    """Every portal's status as the health monitors last judged it, its broken checks (number vs baseline),
    since when, and its last good run."""
    from newscrawler.profiles import ProfileError, load_profiles

    try:
        profiles = load_profiles()
    except ProfileError as exc:
        print(f"newscrawler: {exc}; showing the portals with a recorded state only", file=sys.stderr)
        profiles = {}
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        portals = portal_health(store, profiles)
    if args.json:
        print(to_json({"portals": portals}))
    elif not portals:
        print("no portal profile and no recorded health yet", file=sys.stderr)
    else:
        print_health(portals)
    return 0


def portal_health(store, profiles: dict) -> list[dict[str, Any]]:
    """Each enabled portal's health (and any other with a recorded state), by site."""
    from newscrawler.monitors.state import NO_DATA

    states = store.health.all_states()
    enabled = {site: p for site, p in profiles.items() if p.enabled}
    portals = []
    for site in sorted(set(enabled) | set(states)):
        state = states.get(site) or {}
        profile = profiles.get(site)
        portals.append({
            "portal": site, "name": state.get("name") or (profile.name if profile else site),
            "profile": profile.path if profile else state.get("profile"),
            "status": state.get("status") or NO_DATA, "since": state.get("since"),
            "checks": state.get("checks", []), "lastGoodRun": state.get("lastGoodRun"),
            "lastRun": state.get("lastRun"), "schedule": state.get("schedule"),
            "lastAlert": state.get("lastAlert"), "pendingAlert": state.get("pending")})
    return portals


def print_health(portals: list[dict[str, Any]]) -> None:
    print(f"{'portal':<9}{'status':<10}{'since (UTC)':<21}{'last good run':<48}last run")
    for p in portals:
        good, last = p["lastGoodRun"], p["lastRun"]
        good_text = f"{_utc(good['at'])} {good['run']}" if good else ("—" if not last else "none")
        print(f"{p['portal']:<9}{p['status']:<10}{_utc(p['since']):<21}{good_text:<48}"
              f"{_utc(last['at']) + ' ' + last['run'] if last else '—'}")
        for check in p["checks"]:
            print(f"    {check['check']}: {check['message']}")
        alert = p["lastAlert"]
        if alert:
            sent = ", ".join(f"{d['action']} {'ok' if d['ok'] else 'FAILED: ' + d.get('error', '')}"
                             for d in alert.get("deliveries", [])) or "no alert action configured"
            print(f"    last alert: {alert['kind']} at {_utc(alert['at'])} ({sent})"
                  + ("; not delivered, will be tried again next run" if p["pendingAlert"] else ""))
