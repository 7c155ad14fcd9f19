"""`scrapy crawl portal -a site=jzrb`: the same run as `newscrawler crawl jzrb` — the portals checked, the data
directory's run lock, a log file under DATA_DIR/logs, the run record, cron-quiet output and the same exit
status (Scrapy's own command exits 0 whatever the run did). `-s NAME=VALUE` settings apply as usual;
`-a backfill=1` / `-a recheck=1` are --backfill / --recheck; the data directory is NEWSCRAWLER_DATA_DIR
(setting or environment) and the database MONGO_URI, as for `newscrawler crawl`."""

from __future__ import annotations

import argparse

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.exceptions import UsageError

from newscrawler.cli.common import Interrupted, apply_environment, scrapy_job_args


class Command(ScrapyCrawl):
    # The run frame makes its own CrawlerProcess (with the run's signal handling); none is needed from cmdline.
    requires_crawler_process = False

    def short_desc(self) -> str:
        return "Run a spider as one newscrawler run (lock, log file, run record, exit status)"

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("scrapy crawl needs exactly one spider: portal (or importer)")
        settings = self.settings
        apply_environment(settings)
        spargs = dict(opts.spargs)
        try:
            if args[0] == "portal":
                from newscrawler.cli.crawl import crawl_job

                sites = [s for s in spargs.pop("site", "").split(",") if s] or None
                self.exitcode = crawl_job(scrapy_job_args(settings), sites, settings, **spargs)
            else:
                self.exitcode = other_spider_job(args[0], settings, spargs)
        except Interrupted as exc:
            self.exitcode = exc.code


def other_spider_job(name: str, settings, spargs: dict) -> int:
    """Any other spider of the project, in the same frame (lock, log, record); its run record decides."""
    from newscrawler.cli.common import Job, JobRefused, refused, report
    from newscrawler.store import redact_uri

    try:
        with Job(scrapy_job_args(settings), "import" if name == "importer" else name, settings) as job:
            crawler = job.run(name, {}, **spargs)
            return report(job, crawler, redact_uri(job.store.uri))
    except JobRefused as exc:
        return refused(exc)
