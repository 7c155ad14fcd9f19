"""`newscrawler demo`: the main job on the embedded defaults, offline — crawl a recorded copy of every
shipped portal (served from 127.0.0.1) into the embedded store and show what was stored."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from newscrawler import config
from newscrawler.cli import crawl as crawl_cmd
from newscrawler.cli.common import EXIT_STORE, open_store
from newscrawler.cli.replay import import_replay

SHANGHAI = ZoneInfo("Asia/Shanghai")


def add_parser(sub) -> None:
    p = sub.add_parser("demo", help="crawl the offline portal replay into the embedded store and show it "
                                    "(development install only)")
    p.add_argument("--articles-per-site", type=int, default=60,
                   help="size of the generated recording (first run only)")
    p.set_defaults(func=run)


def run(args) -> int:
    replay = import_replay("generate", "demo")
    data_dir = config.data_dir(args.data_dir)
    recording = data_dir / "replay"
    manifest_path = recording / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else None
    # A recording made by an older generator is made again (the crawl then sees what changed, as it would
    # on a real portal).
    if manifest is None or manifest.get("generator") != replay.GENERATOR_VERSION:
        print(f"recording the portal replay into {recording} …", file=sys.stderr)
        manifest = replay.generate(recording, articles_per_site=args.articles_per_site)
    # Opened first and held to the end: the crawl and the report join its database server instead of each
    # starting the embedded one again (a start is ~1 s of CPU and 2 s here).
    store = open_store(args)
    if store is None:
        return EXIT_STORE
    with store:
        code = crawl_cmd.run(argparse.Namespace(data_dir=args.data_dir, sites=[], backfill=False, recheck=False,
                                                fault=None, replay=str(recording), log_level="WARNING", quiet=False,
                                                settings=[]))
        expected = {a["url"] for a in manifest["articles"]}
        stored = store.articles.known(expected)
        stats = store.stats()
        print(f"\nstored {stats['articles']} articles ({len(stored)} of the {len(expected)} the replay "
              f"publishes) in {store.display_uri} (data dir {data_dir})")
        for site, n in stats["perSite"].items():
            print(f"  {site:<8} {n:>6}")
        print("\nlatest articles:")
        fields = {"site": 1, "headline": 1, "datePublished": 1, "source": 1, "canonicalUrl": 1}
        for doc in store.newest(limit=8, projection=fields):
            date = doc.get("datePublished")
            when = date.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if hasattr(date, "astimezone") else date
            print(f"  [{doc['site']}] {when}  {doc.get('headline')}  (来源: {doc.get('source') or '—'})")
        clusters = list(store.fingerprints.iter_clusters())
        print(f"\nstories found on more than one URL: {len(clusters)}")
        for c in clusters[:5]:
            sites = sorted({m.get("site") for m in c["members"]})
            print(f"  {c['headline']}  — {c['size']} URLs on {', '.join(sites)}")
        drift_demo(replay, data_dir)
    print("\ntry: .venv/bin/newscrawler db stats | db find 焦作 | db clusters | db runs | db health   ·   make test")
    return code


def drift_demo(replay, data_dir: Path) -> None:
    """A portal changes its article layout overnight: crawl a recording in which 大河网 (dahe) was redesigned
    and show what the health monitors make of it (its profile's selectors match nothing any more). In a data
    directory of its own, made afresh each time, so the demo's store keeps only healthy portals."""
    demo_dir = data_dir / "demo-drift"
    shutil.rmtree(demo_dir, ignore_errors=True)
    recording = demo_dir / "replay"
    replay.generate(recording, articles_per_site=10, seed=8, drift=["dahe"])
    print(f"\nportal health: 大河网 (dahe) changed its article layout overnight; crawling that replay into "
          f"{demo_dir} …")
    # A second crawl cannot run in this process (Twisted's reactor does not restart): child processes. The
    # demo never alerts anyone: the alert targets in the environment are for real crawls.
    env = {k: v for k, v in os.environ.items() if k not in ("NEWSCRAWLER_ALERT_WEBHOOK", "NEWSCRAWLER_ALERT_EMAIL_TO")}
    me = [sys.executable, "-m", "newscrawler", "--data-dir", str(demo_dir)]
    sys.stdout.flush()  # the children write to the same stdout
    # Its store held meanwhile: both children join one database server.
    held = open_store(argparse.Namespace(data_dir=str(demo_dir))) if config.mongo_uri() is None else None
    with held or contextlib.nullcontext():
        code = subprocess.run([*me, "crawl", "dahe", "--replay", str(recording), "--log-level", "ERROR"],
                              env=env).returncode
        print(f"the crawl exited {code}{' (a portal degraded)' if code == 4 else ''}; `newscrawler db health` "
              "says:", flush=True)
        subprocess.run([*me, "db", "health"], env=env)
