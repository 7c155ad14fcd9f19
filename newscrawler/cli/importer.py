"""`newscrawler import PATH... [--url-map FILE]`: saved pages through the crawl's pipelines into the store."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from newscrawler.cli.common import EXIT_USAGE, Job, JobRefused, refused, run_recorder

EXIT_NOTHING_IMPORTED = 1


def add_parser(sub) -> None:
    p = sub.add_parser(
        "import", help="import saved pages (HTML or WARC files) as if they had been crawled",
        description="Run saved pages through the same extraction, normalisation, dedup and storage as a "
                    "crawl. A page's URL comes from --url-map, else the WARC record, else its rel=canonical, "
                    "else its file path; its site is the portal owning that URL, else the URL's host.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="HTML or WARC files, or directories holding them")
    p.add_argument("--url-map", metavar="FILE",
                   help="TSV of 'file name<TAB>URL': the URL each HTML file was fetched from")
    p.add_argument("--log-level", default="INFO")
    p.set_defaults(func=run)


def run(args) -> int:
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        print(f"newscrawler: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    if args.url_map and not Path(args.url_map).is_file():
        print(f"newscrawler: --url-map {args.url_map} is not a file", file=sys.stderr)
        return EXIT_USAGE
    from newscrawler.spiders.importer import read_url_map

    try:
        read_url_map(args.url_map)
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"newscrawler: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with Job(args, "import") as job:
            return import_pages(job, [str(Path(p).resolve()) for p in args.paths], args.url_map)
    except JobRefused as exc:
        return refused(exc)


def import_pages(job: Job, paths: list[str], url_map: str | None) -> int:
    """Run the import spider once in this process; 0 when pages were imported and stored."""
    from newscrawler.spiders.importer import ImportSpider

    crawler = job.run(ImportSpider, {}, paths=paths, url_map=url_map)
    stats = crawler.stats.get_stats() if crawler.stats else {}
    pages = stats.get("import/pages", 0)
    new, updated, unchanged = (stats.get(f"articles/{k}", 0) for k in ("new", "updated", "unchanged"))
    dropped = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("item_dropped_reasons/")}
    dedup = {k.split("/", 1)[1]: v for k, v in stats.items() if k.startswith("dedup/")}
    print(f"imported {pages} pages: articles new {new}, updated {updated}, unchanged {unchanged}, "
          f"dropped {sum(dropped.values())} {dropped or ''}; duplicates {dedup or '{}'}; "
          f"errors {stats.get('errors/import', 0)}; database {job.store.display_uri}")
    logging.getLogger("newscrawler").info("import finished: %s", stats)
    recorder = run_recorder(crawler)
    if recorder is not None and recorder.result is not None and recorder.result["exitCode"]:
        return recorder.result["exitCode"]
    return 0 if pages and (new + updated + unchanged) else EXIT_NOTHING_IMPORTED
