"""End-to-end crawl benchmark: `newscrawler crawl` over the replayed portals vs a bare Scrapy spider that
fetches the same pages and does nothing else, in the same run, against the same replay server (its own
process, so it never shares a GIL with the crawler being measured).

    .venv/bin/python benchmarks/crawl.py [--articles-per-site 600] [--archive-cost] [--floor]

Prints, for each crawler process, wall time, pages/s, CPU seconds and peak RSS; for `newscrawler crawl` also
the CPU seconds of the embedded database server over the crawl (a separate process: its pid from
db/server.json, its CPU time from /proc), and the full pipeline's CPU and wall time as ratios of the bare
fetch's. Both crawlers are timed the same way: wall time from before their first import to the end of the
crawl, CPU time of the whole process (interpreter start-up and imports included) and, for `newscrawler crawl`, of
its extraction process (shown apart too).
--floor adds a bare fetch that does, in its one process, the per-page work every stored article needs: extract()
with the portal's profile, normalisation and dedup's sketch; with the database's CPU it is the least the pipeline
can cost here (printed as "floor").
--archive-cost adds a `newscrawler crawl` with the raw-page archive switched off (NEWSCRAWLER_ARCHIVE=0, its own
data directory and database server), the CPU seconds of both crawls, the archive's bytes per article and the
machine's load average around the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from urllib.parse import urljoin

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"replay server did not listen on {port}")


def bare_main(proxy: str, out: str, with_extraction: bool = False, floor: bool = False) -> None:
    """A plain Scrapy spider: same discovery rules (the profiles' patterns), no storage; with_extraction
    runs the extractor on each article page too, to show which part of the cost is extraction; floor does, in
    this process, the per-page work no stored article can go without: extract() with the portal's profile, then
    on an article's last page normalisation and dedup's sketch (the extraction process's normalise request)."""
    t0 = time.perf_counter()  # the same starting point as pipeline_main: before the first import
    import scrapy
    from itemadapter import ItemAdapter
    from scrapy.crawler import CrawlerProcess

    from newscrawler.extract import extract
    from newscrawler.profiles import load_profiles

    if floor:  # only there: the bare fetch's own imports stay what they were
        from newscrawler.extract.worker import normalise_fields
        from newscrawler.normalise.article import READS

    profiles = list(load_profiles().values())
    os.environ["http_proxy"] = proxy

    class BareSpider(scrapy.Spider):
        name = "bare"

        async def start(self):
            for p in profiles:
                for url in (*p.start_urls, *p.column_urls):
                    yield scrapy.Request(url, cb_kwargs={"p": p})

        def parse(self, response, p):
            for href in response.css("a::attr(href)").getall():
                url = urljoin(response.url, href)
                if p.is_article_url(url):
                    yield scrapy.Request(url, callback=self.article, cb_kwargs={"p": p})
                elif p.is_pagination_url(url):
                    yield scrapy.Request(url, cb_kwargs={"p": p})

        def article(self, response, p):
            headers = {"Content-Type": response.headers.get("Content-Type", b"").decode("latin-1")}
            if with_extraction:
                extract(response.body, response.url, headers=headers)
            if floor:
                page = ItemAdapter(extract(response.body, response.url, headers=headers, profile=p))
                if not page.get("nextPage"):
                    normalise_fields({name: page[name] for name in READS if name in page}, p)
            # The same continuation pages the real crawl follows.
            for href in response.xpath('//a[contains(., "下一页")]/@href').getall():
                yield scrapy.Request(urljoin(response.url, href), callback=self.article, cb_kwargs={"p": p})

    settings = {"ROBOTSTXT_OBEY": True, "CONCURRENT_REQUESTS": 16, "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
                "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "WARNING",
                "TELNETCONSOLE_ENABLED": False, "COOKIES_ENABLED": False,
                # The same Scrapy tuning as newscrawler's settings, so the ratio measures our pipeline only.
                "CONCURRENT_ITEMS": 16}
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler)
    process.start()
    elapsed = time.perf_counter() - t0
    Path(out).write_text(json.dumps({
        "pages": crawler.stats.get_value("downloader/response_count", 0), "seconds": elapsed,
        "cpu": cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)),
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def cpu_seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def pipeline_main(proxy: str, data_dir: str, out: str, monitors: bool = True) -> None:
    """`newscrawler crawl` in this process, timed like bare_main: wall time from before the first import to the
    crawl's exit status, CPU time of this process from its start (interpreter start-up and imports included, as
    for the bare fetch); `monitors=False` takes the portal health extension out of the crawl."""
    t0 = time.perf_counter()
    from newscrawler import settings
    from newscrawler.cli import main

    if not monitors:
        settings.EXTENSIONS = {**settings.EXTENSIONS, "newscrawler.monitors.extension.PortalHealth": None}
    code = main(["--data-dir", data_dir, "crawl", "--replay", proxy, "--log-level", "WARNING"])
    elapsed = time.perf_counter() - t0
    # The crawl's extraction process is this process's child, waited for when the crawl ends.
    worker_cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_CHILDREN))
    cpu = cpu_seconds(resource.getrusage(resource.RUSAGE_SELF)) + worker_cpu
    log = sorted((Path(data_dir) / "logs").glob("crawl-*.log"))[-1].read_text()
    from newscrawler.store import Store

    with Store.open(data_dir=data_dir) as store:
        run = store.runs.last()
        stored = store.articles.count()
    Path(out).write_text(json.dumps({
        "pages": run["pagesFetched"], "seconds": elapsed, "cpu": cpu, "worker_cpu": worker_cpu, "exit": code,
        "stored": stored,
        "monitors_cpu": (run.get("health") or {}).get("cpuSeconds"),
        "new": run["articles"]["new"], "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "log_errors": len(re.findall(r"\] ERROR:", log))}))


def db_server_cpu(data_dir: Path) -> float | None:
    """CPU seconds the embedded database server has used so far."""
    try:
        pid = json.loads((data_dir / "db" / "server.json").read_text())["pid"]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, KeyError, IndexError):
        return None


def archive_size(data_dir: Path) -> tuple[int, int, int]:
    """(files' bytes, article pages, their bodies' bytes) of a data directory's raw-page archive."""
    from newscrawler.archive import archive_dir, archive_files, read_pages

    files = archive_files(archive_dir(data_dir))
    pages = [p for f in files for p in read_pages(f)]
    return sum(f.stat().st_size for f in files), len(pages), sum(len(p.body) for p in pages)


def run_pipeline(me: list[str], proxy: str, data_dir: Path, out: Path, env: dict | None = None) -> float | None:
    """One timed `newscrawler crawl` against its own embedded server (kept up across the timed run so its
    start-up is not charged to the crawl); the server's peak RSS."""
    from newscrawler.store.server import ensure_server

    db = ensure_server(data_dir)
    try:
        cpu0 = db_server_cpu(data_dir)
        subprocess.run(me + ["--pipeline", proxy, str(data_dir), str(out)], check=True,
                       env={**os.environ, **(env or {})})
        cpu1 = db_server_cpu(data_dir)
        result = json.loads(out.read_text())
        result["db_cpu"] = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
        out.write_text(json.dumps(result))
        return db_server_rss(data_dir)
    finally:
        db.stop()


def db_server_rss(data_dir: Path) -> float | None:
    try:
        pid = json.loads((data_dir / "db" / "server.json").read_text())["pid"]
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, KeyError):
        return None
    return None


def monitors_cost(proxy: str, tmp: Path, rounds: int = 2) -> None:
    """The portal health monitors' cost: the same crawl with and without them, alternating (on, off, off, on…),
    each into a fresh data directory, CPU time of the crawler process."""
    from newscrawler.store.server import ensure_server

    me = [sys.executable, __file__]
    cpu: dict[bool, list[float]] = {True: [], False: []}
    order = [True, False, False, True] * (rounds // 2) + [True, False] * (rounds % 2)
    for n, on in enumerate(order):
        data_dir = tmp / f"data-{n}"
        db = ensure_server(data_dir)
        try:
            subprocess.run(me + ["--pipeline" if on else "--pipeline-no-monitors", proxy, str(data_dir),
                                 str(tmp / f"pipe-{n}.json")], check=True)
        finally:
            db.stop()
        r = json.loads((tmp / f"pipe-{n}.json").read_text())
        cpu[on].append(r["cpu"])
        extra = f", of which judging {r['monitors_cpu']:.3f} s" if on else ""
        print(f"crawl {'with' if on else 'without'} monitors: {r['pages']} pages, {r['stored']} stored, exit "
              f"{r['exit']}, {r['seconds']:.1f} s wall, {r['cpu']:.2f} s CPU{extra}")
    with_, without = median(cpu[True]), median(cpu[False])
    print(f"monitors' cost: {with_ - without:+.2f} s CPU of {without:.2f} s ({(with_ - without) / without:+.1%}; "
          f"medians of {len(cpu[True])} runs each; target < 3%)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles-per-site", type=int, default=600)
    ap.add_argument("--archive-cost", action="store_true",
                    help="also crawl with the raw-page archive off; CPU and archive bytes per article")
    ap.add_argument("--monitors-cost", action="store_true",
                    help="only measure the portal health monitors: the crawl with and without them")
    ap.add_argument("--rounds", type=int, default=4, help="crawls per variant for --monitors-cost")
    ap.add_argument("--floor", action="store_true",
                    help="also a bare fetch doing the per-page work every stored article needs (extract() with "
                         "the profile, normalisation, dedup's sketch), in one process: with the database's CPU, "
                         "the least the pipeline can cost on this machine")
    args = ap.parse_args()
    load_before = os.getloadavg()
    from newscrawler_replay.generate import generate

    with tempfile.TemporaryDirectory(prefix="nc-bench-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        manifest = generate(tmp / "rec", articles_per_site=args.articles_per_site)
        n_articles = len(manifest["articles"])
        print(f"recording: {n_articles} articles, generated in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        server = subprocess.Popen([str(BIN / "newscrawler"), "replay", "serve", str(tmp / "rec"), "--port",
                                   str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            proxy = f"http://127.0.0.1:{port}"
            if args.monitors_cost:
                monitors_cost(proxy, tmp, args.rounds)
                return
            me = [sys.executable, __file__]
            subprocess.run(me + ["--bare", proxy, str(tmp / "bare.json")], check=True)
            subprocess.run(me + ["--bare-extract", proxy, str(tmp / "bare-extract.json")], check=True)
            if args.floor:
                subprocess.run(me + ["--bare-floor", proxy, str(tmp / "floor.json")], check=True)
            data_dir = tmp / "data"
            db_rss = run_pipeline(me, proxy, data_dir, tmp / "pipe.json")
            if args.archive_cost:
                run_pipeline(me, proxy, tmp / "data-no-archive", tmp / "pipe-no-archive.json",
                             {"NEWSCRAWLER_ARCHIVE": "0"})
                archive = archive_size(data_dir)
                assert not archive_size(tmp / "data-no-archive")[0]
        finally:
            server.terminate()
            server.wait()
        bare = json.loads((tmp / "bare.json").read_text())
        pipe = json.loads((tmp / "pipe.json").read_text())
        bare_x = json.loads((tmp / "bare-extract.json").read_text())
        plain = json.loads((tmp / "pipe-no-archive.json").read_text()) if args.archive_cost else None
        floor = json.loads((tmp / "floor.json").read_text()) if args.floor else None
    print(f"{'crawler':<30}{'pages':>7}{'wall s':>8}{'pages/s':>9}{'CPU s':>8}{'db CPU s':>10}{'total CPU s':>13}"
          f"{'peak RSS MiB':>14}")
    rows = (("bare Scrapy fetch", bare), ("bare fetch + extract()", bare_x),
            *((("floor: + profile, normalise", floor),) if floor else ()), ("newscrawler crawl", pipe))
    for name, r in rows:
        db_cpu = r.get("db_cpu")
        total = r["cpu"] + (db_cpu or 0)
        print(f"{name:<30}{r['pages']:>7}{r['seconds']:>8.1f}{r['pages'] / r['seconds']:>9.1f}{r['cpu']:>8.2f}"
              f"{(f'{db_cpu:.2f}' if db_cpu is not None else '-'):>10}{total:>13.2f}{r['rss_mib']:>14.0f}")
    if pipe.get("worker_cpu"):
        print(f"{'  of which extraction process':<30}{'':>7}{'':>8}{'':>9}{pipe['worker_cpu']:>8.2f}")
    if db_rss:
        print(f"{'  + embedded db server':<30}{'':>7}{'':>8}{'':>9}{'':>8}{'':>10}{'':>13}{db_rss:>14.0f}")
    pipe_cpu = pipe["cpu"] + (pipe.get("db_cpu") or 0)
    print(f"full / bare: CPU {pipe_cpu / bare['cpu']:.2f}× (crawler {pipe['cpu'] / bare['cpu']:.2f}× + database "
          f"{(pipe.get('db_cpu') or 0) / bare['cpu']:.2f}×; target ≤ 2.0×, stretch 1.6×), wall "
          f"{pipe['seconds'] / bare['seconds']:.2f}× (target ≤ 1.4×, stretch 1.2×); bare + extract(): CPU "
          f"{bare_x['cpu'] / bare['cpu']:.2f}×, wall {bare_x['seconds'] / bare['seconds']:.2f}×")
    print(f"per article stored: {pipe_cpu / max(pipe['stored'], 1) * 1000:.2f} ms CPU (crawler "
          f"{pipe['cpu'] / max(pipe['stored'], 1) * 1000:.2f} + database "
          f"{(pipe.get('db_cpu') or 0) / max(pipe['stored'], 1) * 1000:.2f}) against "
          f"{bare['cpu'] / max(pipe['stored'], 1) * 1000:.2f} for the bare fetch")
    print(f"stored {pipe['stored']} articles of {n_articles} recorded; crawl exit {pipe['exit']}, "
          f"{pipe['log_errors']} ERROR lines in its log")
    if floor is not None:
        least = floor["cpu"] + (pipe.get("db_cpu") or 0)
        print(f"floor: the per-page work in one process ({floor['cpu']:.2f} s) + this crawl's database "
              f"({pipe.get('db_cpu') or 0:.2f} s) = {least:.2f} s CPU, {least / bare['cpu']:.2f}× the bare fetch; "
              f"the rest of the pipeline (archive, dedup, writes, pipelines, listing checks, monitors, the "
              f"extraction process's messages) {pipe_cpu - least:.2f} s, {(pipe_cpu - least) / bare['cpu']:.2f}×")
    if plain is not None:
        print(f"\n{'raw-page archive':<28}{'pages':>7}{'seconds':>9}{'pages/s':>9}{'CPU s':>8}{'db CPU s':>10}")
        for name, r in (("newscrawler crawl, archive on", pipe), ("newscrawler crawl, archive off", plain)):
            db_cpu = f"{r['db_cpu']:>10.1f}" if r.get("db_cpu") is not None else f"{'?':>10}"
            print(f"{name:<28}{r['pages']:>7}{r['seconds']:>9.1f}{r['pages'] / r['seconds']:>9.1f}{r['cpu']:>8.2f}"
                  f"{db_cpu}")
        size, pages, body = archive
        print(f"archive: {size:,} bytes for {pipe['stored']} articles ({pages} article pages, {body:,} bytes of "
              f"bodies): {size / pipe['stored']:,.0f} bytes per article, {size / body:.2f} of the bodies' size; "
              f"crawler CPU +{(pipe['cpu'] / plain['cpu'] - 1) * 100:.1f} % with the archive "
              f"(stored without it: {plain['stored']})")
    print(f"load average (1, 5, 15 min) before: {' '.join(f'{v:.2f}' for v in load_before)}, after: "
          f"{' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("--bare", "--bare-extract", "--bare-floor"):
        bare_main(sys.argv[2], sys.argv[3], with_extraction=sys.argv[1] == "--bare-extract",
                  floor=sys.argv[1] == "--bare-floor")
    elif len(sys.argv) > 1 and sys.argv[1] in ("--pipeline", "--pipeline-no-monitors"):
        pipeline_main(sys.argv[2], sys.argv[3], sys.argv[4], monitors=sys.argv[1] == "--pipeline")
    else:
        main()
