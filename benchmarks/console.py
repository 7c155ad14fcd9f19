"""Console and `db` benchmark: fill the embedded store with generated articles, then time every console page,
search and `db` command, and read the database server's memory.

    .venv/bin/python benchmarks/console.py [--articles 100000] [--keep DIR] [--repeat 15]

1. Fill: `--articles` generated articles (the replay's sentence bank: ~550-character Chinese bodies; 12
   portals, three years of publication dates, 3 % Traditional, 2 % in story clusters of 2-3, one crawl run
   record a day) written through `store.articles.write` in batches of 500 — the crawl's write path, with
   its per-day counters and search index — into a fresh embedded server (SecantusDB, 256 MB cache, as
   newscrawler starts it). The time spent in the counters and the search index is reported per article.
   With `--keep DIR` the filled data directory is kept and reused by the next run with the same DIR.
2. Pages: `newscrawler web` runs in its own process; each address is fetched `--repeat` times over HTTP
   (p50/p95 of the whole request, first-byte to last-byte).
3. Commands: each `newscrawler db …` run as a process (wall time, Python start-up and imports included),
   and the same command in-process (its own work, imports done).
4. Memory: the database server's resident set after the fill and its peak (VmHWM) after the pages.

Run on demand, never in the test suite; prints a Markdown table and writes benchmarks/out/console-<n>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from newscrawler.store import Store
from newscrawler.store.search import SearchIndex
from newscrawler.store.stats import StatsRoom

REPO = Path(__file__).resolve().parents[1]
SITES = [f"p{i:02d}" for i in range(12)]
OUTLETS = ["新华社", "央视网", "人民网", "大河网", "河南日报", "中国新闻网", None, None]
START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 3 * 365
BATCH = 500


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def rss_kib(pid: int, key: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class Timed:
    """Wraps a method to add up the seconds spent in it."""

    def __init__(self, owner: type, name: str):
        self.owner, self.name, self.seconds = owner, name, 0.0
        self.original = getattr(owner, name)
        timed = self

        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return timed.original(*args, **kwargs)
            finally:
                timed.seconds += time.perf_counter() - t
        setattr(owner, name, wrapper)

    def restore(self) -> None:
        setattr(self.owner, self.name, self.original)


def generate(n: int, seed: int = 1):
    """Articles as the crawl would hand them to the store, in batches, oldest publication dates first."""
    from opencc import OpenCC

    from newscrawler_replay.content import Writer

    rng = random.Random(seed)
    writer = Writer(random.Random(seed + 1))
    names = writer.b["names"]
    s2t = OpenCC("s2t")
    step = DAYS * 86400 / n
    batch = []
    for i in range(n):
        story = writer.story(f"b{i}", authors=rng.randint(0, 2))
        published = START + timedelta(seconds=i * step + rng.uniform(0, step))
        site = SITES[rng.randrange(len(SITES))]
        url = f"http://www.{site}.example.cn/{published:%Y%m}/{i:07d}.shtml"
        headline, body = story.headline, "\n".join(story.paragraphs)
        doc = {"url": url, "canonicalUrl": url, "site": site, "headline": headline, "articleBody": body,
               "datePublished": published, "datePublishedRaw": f"{published:%Y-%m-%d %H:%M}",
               "source": rng.choice(OUTLETS), "authors": story.authors, "editor": rng.choice(names),
               "script": "Hans", "dateTrusted": True, "fetchedAt": published + timedelta(hours=3),
               "breadcrumbs": ["首页", "新闻"] if rng.random() < 0.7 else [],
               "images": [{"url": url.replace(".shtml", ".jpg"), "caption": None}] if rng.random() < 0.3 else [],
               "cluster": f"c{i}", "dedup": "none"}
        if rng.random() < 0.03:
            doc.update(script="Hant", headline=s2t.convert(headline), articleBody=s2t.convert(body),
                       headlineSimplified=headline, articleBodySimplified=body)
        batch.append(doc)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def fill(store: Store, n: int) -> dict:
    timers = [Timed(SearchIndex, "write"), Timed(StatsRoom, "apply")]
    started = time.monotonic()
    written = 0
    clusters = []
    rng = random.Random(3)
    try:
        for batch in generate(n):
            store.articles.write(batch)
            written += len(batch)
            for doc in batch:
                if rng.random() < 0.01:
                    clusters.append(doc)
            if written % 20000 == 0 or written == n:
                rate = written / (time.monotonic() - started)
                log(f"  {written:,} articles written ({rate:,.0f}/s)")
    finally:
        for t in timers:
            t.restore()
    seconds = time.monotonic() - started
    # Story clusters (2 % of articles in clusters of 2-3) and one run record a day, as the crawl leaves them.
    joins = []
    for doc in clusters:
        members = [{"url": doc["canonicalUrl"], "site": doc["site"], "source": doc["source"],
                    "firstSeen": doc["fetchedAt"], "published": doc["datePublished"], "original": True}]
        for k in range(rng.randint(1, 2)):
            members.append({**members[0], "url": doc["canonicalUrl"] + f"?copy={k}", "original": False,
                            "site": SITES[rng.randrange(len(SITES))]})
        joins.append({"cluster": doc["cluster"], "members": members, "canonical": members[0],
                      "headline": doc["headline"]})
    for i in range(0, len(joins), 500):
        store.fingerprints.write([], [], joins[i:i + 500])
    spread_clusters(store)
    for day in range(0, DAYS, 1):
        run_id = store.runs.start({"portals": SITES, "kind": "crawl", "startedAt": START + timedelta(days=day)})
        store.runs.finish(run_id, {"status": "ok", "exitCode": 0, "articles": {"new": n // DAYS},
                                   "pagesFetched": n // DAYS + 40, "errorCount": 0})
    return {"articles": written, "seconds": round(seconds, 1), "perSecond": round(written / seconds, 1),
            "clustersSpread": True,
            "searchIndexMsPerArticle": round(timers[0].seconds / written * 1000, 3),
            "countersMsPerArticle": round(timers[1].seconds / written * 1000, 3),
            "clusters": len(joins)}


def spread_clusters(store: Store) -> None:
    """Clusters grow as the crawl goes on; written in one go they would all have grown just now: each gets
    the time its first copy was seen instead (benchmark data only)."""
    from pymongo import UpdateOne

    ops = [UpdateOne({"_id": d["_id"]}, {"$set": {"updatedAt": max(m["firstSeen"] for m in d["members"])}})
           for d in store.fingerprints.clusters.find({}, {"members": 1})]
    for i in range(0, len(ops), 1000):
        store.fingerprints.clusters.bulk_write(ops[i:i + 1000], ordered=False)


def percentiles(samples: list[float]) -> tuple[float, float]:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return round(statistics.median(samples) * 1000, 1), round(p95 * 1000, 1)


def time_pages(base: str, pages: list[tuple[str, str]], repeat: int) -> list[dict]:
    out = []
    for label, path in pages:
        samples, size, status = [], 0, 0
        for _ in range(repeat):
            t = time.perf_counter()
            with urllib.request.urlopen(base + path, timeout=300) as response:
                body = response.read()
                status = response.status
            samples.append(time.perf_counter() - t)
            size = len(body)
        p50, p95 = percentiles(samples)
        out.append({"what": label, "address": path, "status": status, "bytes": size, "p50_ms": p50, "p95_ms": p95})
        log(f"  {label:<42} p50 {p50:>8.1f} ms  p95 {p95:>8.1f} ms  ({size:,} bytes)")
    return out


def time_commands(data: Path, commands: list[tuple[str, list[str]]], repeat: int) -> list[dict]:
    from newscrawler.cli import main

    out = []
    for label, args in commands:
        wall = []
        for _ in range(max(3, repeat // 3)):
            t = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "newscrawler", "--data-dir", str(data), *args],
                                    capture_output=True, text=True, cwd=REPO, timeout=600)
            wall.append(time.perf_counter() - t)
            assert result.returncode == 0, (args, result.stderr[-500:])
        inner = []
        for _ in range(repeat):
            sink = io.StringIO()
            t = time.perf_counter()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(io.StringIO()):
                main(["--data-dir", str(data), *args])
            inner.append(time.perf_counter() - t)
        w50, w95 = percentiles(wall)
        i50, i95 = percentiles(inner)
        out.append({"what": label, "args": args, "process_p50_ms": w50, "process_p95_ms": w95,
                    "inprocess_p50_ms": i50, "inprocess_p95_ms": i95})
        log(f"  {label:<42} process p50 {w50:>7.1f} ms, p95 {w95:>7.1f} ms; in-process p50 {i50:>7.1f} ms, "
            f"p95 {i95:>7.1f} ms")
    return out


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="data directory to fill (or reuse when already filled)")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    load_before = os.getloadavg()
    data = args.keep or Path(tempfile.mkdtemp(prefix="bench-console-"))
    data.mkdir(parents=True, exist_ok=True)
    marker = data / "bench-filled.json"
    report: dict = {"articles": args.articles, "machine": {"cores": os.cpu_count(), "loadBefore": load_before},
                    "when": datetime.now(UTC).isoformat(timespec="seconds")}
    with Store.open(data_dir=data) as store:
        server_pid = json.loads((data / "db" / "server.json").read_text())["pid"]
        if marker.exists() and json.loads(marker.read_text())["articles"] == args.articles:
            report["fill"] = json.loads(marker.read_text())
            log(f"reusing the filled store in {data}")
            if not report["fill"].get("clustersSpread"):
                spread_clusters(store)
                report["fill"]["clustersSpread"] = True
                marker.write_text(json.dumps(report["fill"]))
        else:
            log(f"filling {data} with {args.articles:,} articles")
            report["fill"] = fill(store, args.articles)
            marker.write_text(json.dumps(report["fill"]))
        report["fill"]["serverRssMiBAfterFill"] = round(rss_kib(server_pid) / 1024)
        sample = store.listing.page(store_filter(), 12345 % args.articles, 1).docs[0]
        hant = store.listing.page(store_filter(script="Hant"), 0, 1).docs[0]
        author = sample.get("authors")[0] if sample.get("authors") else "张伟"
        sizes = {"databaseMiB": round(du(data / "db") / 2**20), "searchIndexMiB": round(du(data / "search") / 2**20)}
        report["sizes"] = sizes
        total = store.listing.count(store_filter())
        deep = total // 20 - 2
        web = subprocess.Popen([sys.executable, "-m", "newscrawler", "--data-dir", str(data), "web", "--port", "0",
                                "--threads", "2"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               cwd=REPO)
        try:
            base = re.match(r"console: (http://[\d.:]+)/", web.stdout.readline()).group(1)
            week_ago = (sample["datePublished"] - timedelta(days=7)).strftime("%Y-%m-%d")
            day = sample["datePublished"].strftime("%Y-%m-%d")
            url = sample["canonicalUrl"]
            pages = [
                ("articles, page 1", "/"),
                ("articles, page 2", "/?page=2"),
                (f"articles, page {deep // 2:,} (middle)", f"/?page={deep // 2}"),
                (f"articles, page {deep:,} (near the end)", f"/?page={deep}"),
                ("one portal, page 1", "/?site=p03"),
                ("one portal, page 200", "/?site=p03&page=200"),
                ("Traditional pages, page 1", "/?script=Hant"),
                ("one week", "/?" + urlencode({"since": week_ago, "until": day})),
                ("source by alias (CCTV)", "/?source=CCTV"),
                ("source, page 100", "/?source=CCTV&page=100"),
                ("author", "/?" + urlencode({"author": author})),
                ("editor, page 10", "/?" + urlencode({"editor": sample["editor"], "page": 10})),
                ("search: common word 焦作", "/?" + urlencode({"q": "焦作"})),
                ("search: common word, page 100", "/?" + urlencode({"q": "焦作", "page": 100})),
                ("search: two words 郑州 项目", "/?" + urlencode({"q": "郑州 项目"})),
                ("search: Traditional 總書記 (rare)", "/?" + urlencode({"q": "總書記"})),
                ("search: phrase from one headline", "/?" + urlencode({"q": sample["headline"][:6]})),
                ("search + portal + dates", "/?" + urlencode({"q": "活动", "site": "p05", "since": week_ago})),
                ("article", "/article?" + urlencode({"url": url})),
                ("article, https spelling", "/article?" + urlencode({"url": url.replace("http://", "https://")})),
                ("Traditional article, Simplified", "/article?" + urlencode({"url": hant["canonicalUrl"],
                                                                              "text": "Hans"})),
                ("stories (30 days)", "/stories"),
                ("stories of 2025 (365 days)", "/stories?days=365&before=2026-01-01"),
                ("runs", "/runs"),
                ("portals", "/portals"),
                ("one portal's charts (90 days)", "/portals?site=p03"),
                ("one portal's charts (3 years)", "/portals?site=p03&days=1095"),
                ("export: one portal, one week (jsonl)", "/export?" + urlencode({"format": "jsonl", "site": "p03",
                                                                                "since": week_ago, "until": day})),
                ("export: search 總書記 (csv)", "/export?" + urlencode({"format": "csv", "q": "總書記"})),
            ]
            log("pages:")
            report["pages"] = time_pages(base, pages, args.repeat)
        finally:
            web.terminate()
            web.wait(60)
        log("commands:")
        report["commands"] = time_commands(data, [
            ("db stats", ["db", "stats"]),
            ("db find 焦作", ["db", "find", "焦作"]),
            ("db find --site p03 --since … --until …", ["db", "find", "--site", "p03", "--since", week_ago,
                                                         "--until", day]),
            ("db find --source CCTV", ["db", "find", "--source", "CCTV"]),
            ("db show URL (host-only spelling)", ["db", "show", url.replace("http://", "")]),
            ("db runs", ["db", "runs"]),
            ("db export --site p03 --since (one week)", ["db", "export", "--site", "p03", "--since", week_ago,
                                                         "--until", day, "-o", os.devnull]),
        ], args.repeat)
        report["serverMemory"] = {"rssMiB": round(rss_kib(server_pid) / 1024),
                                  "peakMiB": round(rss_kib(server_pid, "VmHWM") / 1024)}
    report["machine"]["loadAfter"] = os.getloadavg()
    out = REPO / "benchmarks" / "out"
    out.mkdir(exist_ok=True)
    (out / f"console-{args.articles}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(markdown(report))
    return 0


def store_filter(**kwargs):
    from newscrawler.store import ArticleFilter

    return ArticleFilter(**kwargs)


def markdown(report: dict) -> str:
    f = report["fill"]
    lines = [f"### {report['articles']:,} articles",
             "",
             f"Fill: {f['articles']:,} articles in {f['seconds']:,} s ({f['perSecond']:,}/s); of that, per article, "
             f"the search index {f['searchIndexMsPerArticle']} ms and the counters {f['countersMsPerArticle']} ms. "
             f"Database {report['sizes']['databaseMiB']:,} MiB, "
             f"search index {report['sizes']['searchIndexMiB']:,} MiB; "
             f"server RSS {f['serverRssMiBAfterFill']} MiB after the fill, {report['serverMemory']['rssMiB']} MiB "
             f"after the pages (peak {report['serverMemory']['peakMiB']} MiB). Load average "
             f"{report['machine']['loadBefore'][0]:.1f} before, {report['machine']['loadAfter'][0]:.1f} after "
             f"({report['machine']['cores']} cores).",
             "",
             "| page | p50 ms | p95 ms |", "|---|---|---|"]
    lines += [f"| {p['what']} (`{p['address'][:60]}`) | {p['p50_ms']} | {p['p95_ms']} |" for p in report["pages"]]
    lines += ["", "| command | process p50 / p95 ms | in-process p50 / p95 ms |", "|---|---|---|"]
    lines += [f"| `{c['what']}` | {c['process_p50_ms']} / {c['process_p95_ms']} | {c['inprocess_p50_ms']} / "
              f"{c['inprocess_p95_ms']} |" for c in report["commands"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
