"""`newscrawler db …`: inspect the store (every query goes through newscrawler.store).

Times are printed in Asia/Shanghai with their offset (`2024-03-23 20:21 +08:00`); JSON output gives ISO 8601
with the offset. Lists come from the counters and the search index, so nothing here scans the collection.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newscrawler import config
from newscrawler.cli.common import EXIT_LOCKED, EXIT_STORE, EXIT_USAGE, open_store
from newscrawler.display import ZONE_NOTE, when, when_in
from newscrawler.runlock import RunLock, RunLocked


def add_parser(sub) -> None:
    p = sub.add_parser("db", help="inspect what is stored")
    dbsub = p.add_subparsers(dest="db_command", required=True, metavar="WHAT")
    stats = dbsub.add_parser("stats", help="article total, counts per portal and per day, the last run")
    stats.add_argument("--days", type=int, default=30, help="publication days in the per-day table (default 30)")
    stats.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    stats.set_defaults(func=cmd_stats, exit_fast=True)
    runs = dbsub.add_parser("runs", help="the most recent crawl runs")
    runs.add_argument("--limit", type=int, default=10)
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=cmd_runs, exit_fast=True)
    find = dbsub.add_parser("find", help="search stored articles (headline hits first, then newest first)")
    find.add_argument("text", nargs="*", help="words in the headline or body, anywhere, either script (all must occur)")
    _filter_options(find)
    find.add_argument("--limit", type=int, default=20, help="at most this many (0: all)")
    find.add_argument("--json", action="store_true", help="whole documents as JSON Lines")
    find.set_defaults(func=cmd_find, exit_fast=True)
    show = dbsub.add_parser("show", help="one stored article, by any spelling of its URL")
    show.add_argument("url")
    show.add_argument("--json", action="store_true", help="the stored document as JSON")
    show.set_defaults(func=cmd_show, exit_fast=True)
    export = dbsub.add_parser("export", help="write the selected articles to a file (schema.org field names)")
    export.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    export.add_argument("--query", help="words in the headline or body, as for `db find`")
    _filter_options(export)
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output (not for parquet)")
    export.set_defaults(func=cmd_export, exit_fast=True)
    reindex = dbsub.add_parser("reindex", help="recount the articles and rebuild the search and dedup indexes from "
                                                "them (exit 75 while a crawl runs)")
    reindex.set_defaults(func=cmd_reindex)
    serve = dbsub.add_parser("serve", help="keep the embedded database server up (for mongosh and other tools)")
    serve.set_defaults(func=cmd_serve)
    spill = dbsub.add_parser("load-spill", help="store the articles a failed run kept in a spill file")
    spill.add_argument("path", help="DATA_DIR/spill/<run>.jsonl, as named in the failed run's record and log")
    spill.set_defaults(func=cmd_load_spill)
    clusters = dbsub.add_parser("clusters", help="story clusters: one story, every URL it appeared under")
    clusters.add_argument("--limit", type=int, default=0, help="most recently grown first; 0 = all")
    clusters.add_argument("--json", action="store_true", help="one JSON object per cluster and line")
    clusters.set_defaults(func=cmd_clusters, exit_fast=True)
    health = dbsub.add_parser("health", help="each portal's health: ok, degraded, failed or no data, and why")
    health.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    health.set_defaults(func=cmd_health, exit_fast=True)


def _filter_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", help="portal short name, e.g. jzrb")
    p.add_argument("--source", help="the outlet a story came from, by any of its names (央视网, 央視網, CCTV)")
    p.add_argument("--author", help="one of the article's authors")
    p.add_argument("--editor", help="the article's editor (责任编辑)")
    p.add_argument("--since", metavar="YYYY-MM-DD", help="published on or after this day (Asia/Shanghai)")
    p.add_argument("--until", metavar="YYYY-MM-DD", help="published before this day (Asia/Shanghai)")
    p.add_argument("--script", choices=("Hans", "Hant"), help="Simplified or Traditional pages only")


def to_json(value: Any, **kwargs: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default, **kwargs)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # a record's id (bson's ObjectId): its hex form


def warn_if_incomplete(store) -> None:
    missing = store.needs_reindex()
    if missing:
        verb = "does" if len(missing) == 1 else "do"
        print(f"newscrawler: the {' and '.join(missing)} {verb} not cover the articles stored before them; run "
              "`newscrawler db reindex` once (a crawl or an import does it by itself)", file=sys.stderr)


def cmd_stats(args) -> int:
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        warn_if_incomplete(store)
        stats = store.stats(days=args.days)
    if args.json:
        print(to_json(stats))
        return 0
    print(f"articles: {stats['articles']}  ({store.display_uri})")
    print("per portal:")
    for site, n in stats["perSite"].items():
        print(f"  {site:<12} {n:>8}")
    shown = len(stats["perDay"])
    print(f"per day (publication date, Asia/Shanghai, latest first; the {shown} latest days with articles"
          f"{'' if shown < args.days else '; --days N for more'}):")
    for day, n in stats["perDay"].items():
        print(f"  {day}   {n:>8}")
    print_run(stats["lastRun"])
    return 0


def print_run(run: dict | None) -> None:
    if not run:
        print("last run: none yet")
        return
    a = run.get("articles", {})
    print(f"run {run['_id']} {run.get('status')} (exit {run.get('exitCode')}) "
          f"{when(run.get('startedAt'), seconds=True)} → {when(run.get('endedAt'), seconds=True)}")
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


def cmd_runs(args) -> int:
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        runs = store.runs.recent(args.limit)
    if not args.json and runs:
        print(f"({ZONE_NOTE})")
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
                  f"first seen {when(m.get('firstSeen'))})")
    if not clusters and not args.json:
        print("no story seen more than once yet", file=sys.stderr)
    return 0


def cmd_load_spill(args) -> int:
    """Articles a run could not write (the database went away) go in now, clustered, as the crawl would have
    stored them. (Crawls and imports load the spill files they find by themselves.)"""
    from newscrawler import spill
    from newscrawler.store import StoreError

    path = Path(args.path)
    if not path.is_file():
        print(f"newscrawler: spill file {path} does not exist (already loaded? see {path.name}.loaded)",
              file=sys.stderr)
        return 2
    lock = holding_run_lock(args, f"load-spill {path}")
    if lock is None:
        return EXIT_LOCKED
    store = open_store(args)
    if store is None:
        lock.release()
        return EXIT_STORE
    with lock, store:
        try:
            loaded = spill.load(store, path)
        except OSError as exc:
            print(f"newscrawler: cannot read spill file {path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        except StoreError as exc:
            print(f"newscrawler: {exc}; {path} is left as it was", file=sys.stderr)
            return EXIT_STORE
    print(loaded.summary())
    if loaded.rejected:
        print(f"newscrawler: {path}: {len(loaded.rejected)} line(s) could not be read; kept in "
              f"{path.name}.rejected", file=sys.stderr)
        return 1
    return 0


def _filter(args, store, q: str | None):
    """The filter the options ask for, or None after printing what is wrong with them."""
    from newscrawler.query import QueryError, known_sites, make_filter  # imports the store (pymongo): not for --help

    try:
        return make_filter(q=q, site=args.site, source=args.source, author=args.author, editor=args.editor,
                           since=args.since, until=args.until, script=args.script,
                           sites=known_sites(store.counters.totals()))
    except QueryError as exc:
        print(f"newscrawler: --{exc}", file=sys.stderr)
        return None


def cmd_find(args) -> int:
    from newscrawler.store.listing import ROW_FIELDS

    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        f = _filter(args, store, " ".join(args.text) or None)
        if f is None:
            return EXIT_USAGE
        warn_if_incomplete(store)
        if args.limit:
            page = store.listing.page(f, 0, args.limit, None if args.json else ROW_FIELDS)
            docs, total, capped = page.docs, page.total, page.total_capped
        else:
            docs = list(store.listing.stream(f, None if args.json else ROW_FIELDS))
            total, capped = len(docs), False
    if not args.json and docs:
        print(f"({ZONE_NOTE}; {'headline hits first, then ' if f.q else ''}newest first)", file=sys.stderr)
    for doc in docs:
        if args.json:
            print(to_json(doc))
            continue
        print(f"{when(doc.get('datePublished'))}  [{doc.get('site')}] {doc.get('headline')}  "
              f"(来源: {doc.get('source') or '—'})  {doc.get('canonicalUrl')}")
    if not docs:
        print("no article matches", file=sys.stderr)
    elif len(docs) < total:
        print(f"showing {len(docs)} of {total:,}{'+' if capped else ''} matching articles; --limit N for more, "
              "--limit 0 for all", file=sys.stderr)
    return 0


def cmd_show(args) -> int:
    from newscrawler.normalise.urls import spellings

    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        doc = store.articles.find_any(spellings(args.url))
        cluster = store.fingerprints.cluster(doc["cluster"]) if doc and doc.get("cluster") else None
    if doc is None:
        print(f"newscrawler: no stored article has the URL {args.url} (tried {', '.join(spellings(args.url))})",
              file=sys.stderr)
        return 1
    if args.json:
        doc.pop("_id", None)
        print(to_json(doc, indent=2))
        return 0
    print(readable(doc, cluster))
    return 0


def readable(doc: dict[str, Any], cluster: dict | None = None, width: int = 100) -> str:
    """An article for a terminal: its fields labelled, times with their zone, the body as paragraphs."""
    from newscrawler.profiles import load_profiles

    profile = load_profiles().get(doc.get("site") or "")
    zone = getattr(profile, "timezone", None)
    lines = [doc.get("headline") or "(no headline)", ""]

    def row(label: str, value: Any) -> None:
        if value not in (None, "", [], {}):
            lines.append(f"  {label + ':':<13}{value}")

    row("url", doc.get("canonicalUrl"))
    row("also at", ", ".join(u for u in doc.get("urls", []) if u != doc.get("canonicalUrl")))
    row("portal", f"{doc.get('site')}" + (f" ({profile.name})" if getattr(profile, "name", None) else ""))
    published = when_in(doc.get("datePublished"), zone)
    raw = doc.get("datePublishedRaw")
    row("published", published + (f" — printed as {raw!r}" if raw else "")
        + ("" if doc.get("dateTrusted", True) else " — not trusted"))
    if doc.get("dateModified"):
        row("modified", when_in(doc.get("dateModified"), zone))
    row("source", (doc.get("source") or "") + (f" (printed as {doc['sourceRaw']!r})"
                                                 if doc.get("sourceRaw") and doc.get("sourceRaw") != doc.get("source")
                                                 else ""))
    row("authors", ", ".join(doc.get("authors") or []))
    row("editor", doc.get("editor"))
    row("breadcrumbs", " › ".join(doc.get("breadcrumbs") or []))
    row("script", {"Hant": "Traditional (Hant)", "Hans": "Simplified (Hans)"}.get(doc.get("script") or "", None))
    row("keywords", ", ".join(doc.get("keywords") or []))
    row("fetched", f"first {when(doc.get('firstSeen'))}, last {when(doc.get('lastSeen'))}")
    if cluster and cluster.get("size", 0) > 1:
        row("story", f"{cluster['size']} articles in cluster {cluster['cluster']}: "
                     + ", ".join(f"{m['url']} ({m.get('site')})" for m in cluster["members"]
                                 if m["url"] != doc.get("canonicalUrl")))
    for version in doc.get("versions") or []:
        row("changed", f"{when(version.get('time'))}: {', '.join(version.get('changed') or [])}")
    for image in doc.get("images") or []:
        row("image", image.get("url") + (f"  {image['caption']}" if image.get("caption") else ""))
    lines.append("")
    for paragraph in (doc.get("articleBody") or "").split("\n"):
        lines.extend(textwrap.wrap(paragraph, width) or [""])
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def cmd_export(args) -> int:
    from newscrawler import export

    if args.format == "parquet" and not export.parquet_available():
        print("newscrawler: --format parquet needs pyarrow: pip install 'newscrawler[parquet]'", file=sys.stderr)
        return EXIT_USAGE
    if args.format == "parquet" and not args.output and sys.stdout.isatty():
        print("newscrawler: a Parquet file is binary: give -o FILE (or redirect standard output)", file=sys.stderr)
        return EXIT_USAGE
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        f = _filter(args, store, args.query)
        if f is None:
            return EXIT_USAGE
        warn_if_incomplete(store)
        docs = Counted(store.listing.stream(f))
        target = args.output or "standard output"
        try:
            if args.format == "parquet":
                export.write_parquet(docs, args.output or sys.stdout.buffer)
            else:
                chunks = export.jsonl_lines(docs) if args.format == "jsonl" else export.csv_chunks(docs)
                if args.output:
                    with open(args.output, "w", encoding="utf-8", newline="") as out:
                        export.write_text(chunks, out)
                else:
                    export.write_text(chunks, sys.stdout)
        except OSError as exc:
            print(f"newscrawler: cannot write {target}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_USAGE
    print(f"exported {docs.n} articles to {target} ({args.format})", file=sys.stderr)
    return 0


class Counted:
    """An iterator that counts what passed through it."""

    def __init__(self, it):
        self.it = iter(it)
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self):
        value = next(self.it)
        self.n += 1
        return value


def holding_run_lock(args, what: str) -> RunLock | None:
    """The data directory's run lock, for commands that rewrite what a crawl writes (its counters, its indexes, its
    spill files); None, said on stderr, while a crawl holds it."""
    data_dir = config.data_dir(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return RunLock(data_dir).acquire()
    except RunLocked as exc:
        print(f"newscrawler: {exc}; run `newscrawler db {what}` once it has finished", file=sys.stderr)
        return None


def cmd_reindex(args) -> int:
    lock = holding_run_lock(args, "reindex")
    if lock is None:
        return EXIT_LOCKED
    with lock:
        store = open_store(args)
        if store is None:
            return EXIT_STORE
        with store:
            result = store.reindex(progress=lambda line: print(f"\r{line}", end="", file=sys.stderr, flush=True))
    print(f"\rcounted and indexed {result['articles']:,} articles and {result['fingerprints']:,} fingerprints in "
          f"{result['seconds']} s", file=sys.stderr)
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
        print(f"serving {store.display_uri} (data in {store.server.storage}; user {store.server.username}, its "
              f"password in {store.server.storage / 'credentials.json'}, authSource admin); Ctrl-C stops it",
              flush=True)
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
