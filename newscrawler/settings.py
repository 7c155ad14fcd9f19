"""Scrapy settings for newscrawler. Components are small and wired here, Scrapy-style.

Per-portal politeness (delay, concurrency) comes from the profiles and is applied by the spider as
DOWNLOAD_SLOTS keyed by site; these are the defaults around it.
"""

import os

BOT_NAME = "newscrawler"
SPIDER_MODULES = ["newscrawler.spiders"]
NEWSPIDER_MODULE = "newscrawler.spiders"

USER_AGENT = "newscrawler/0.1 (+regional news archive; respects robots.txt)"
ROBOTSTXT_OBEY = True

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.5
DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
# Scrapy starts this many tasks for every response's output; a page yields one article or a few dozen
# links, so 100 (the default) is pure overhead: 16 cut the crawl's event-loop time measurably.
CONCURRENT_ITEMS = 16
REDIRECT_ENABLED = True
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Article pages are small; a 10 MB page is not news.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

SPIDER_MIDDLEWARES = {
    # Skips stored articles and dead links, stops a column's walk at the first page with nothing new.
    "newscrawler.middlewares.IncrementalCrawl": 950,
}
ITEM_PIPELINES = {
    "newscrawler.pipelines.validate.ValidatePipeline": 300,
    "newscrawler.pipelines.normalise.NormalisePipeline": 400,
    "newscrawler.pipelines.dedup.DedupPipeline": 500,
    "newscrawler.pipelines.store.StorePipeline": 900,
}
EXTENSIONS = {
    # The crawl's one Store (crawler.get_extension(StoreExtension).store), closed when the engine stops.
    "newscrawler.extensions.store.StoreExtension": 0,
    # Per-portal health monitors (newscrawler/monitors): judge each portal at the end of every run, record its
    # state in the store, alert on a change; the run's exit status comes from them.
    "newscrawler.monitors.extension.PortalHealth": 50,
    "newscrawler.extensions.run.RunRecorder": 100,
    # Keeps every fetched article page in DATA_DIR/archive/<run>.warc.gz for `newscrawler reprocess`.
    "newscrawler.extensions.archive.PageArchive": 200,
}

# Storage: MONGO_URI empty → the embedded server under NEWSCRAWLER_DATA_DIR (both also read from the
# environment by newscrawler.config when the CLI starts the crawl).
MONGO_URI = ""
MONGO_DATABASE = ""
NEWSCRAWLER_DATA_DIR = ""
# Articles per bulk write; the last batch is flushed (journalled) when the spider closes.
STORE_BATCH_SIZE = 200
# Dedup decides articles in batches of this many, or whatever arrived within DEDUP_MAX_WAIT seconds.
DEDUP_BATCH_SIZE = 100
DEDUP_MAX_WAIT = 0.2
# The run's log file, named in the run record (set by `newscrawler crawl` / `import`).
NEWSCRAWLER_LOG_FILE = ""
# True when crawling a local replay: the profiles' per-portal delays and concurrency are not applied.
NEWSCRAWLER_IGNORE_POLITENESS = False
# Follow column pagination past pages whose articles are all known (set by --backfill).
NEWSCRAWLER_BACKFILL = False
# Fetch known articles on the column pages walked again, to record edits as versions (set by --recheck).
NEWSCRAWLER_RECHECK = False
# The raw-page archive (extensions/archive.py), from the environment so cron lines can set them: off with
# NEWSCRAWLER_ARCHIVE=0; files older than NEWSCRAWLER_ARCHIVE_DAYS days are deleted when a run starts (0: never).
NEWSCRAWLER_ARCHIVE = os.environ.get("NEWSCRAWLER_ARCHIVE", "1")
NEWSCRAWLER_ARCHIVE_DAYS = os.environ.get("NEWSCRAWLER_ARCHIVE_DAYS", "0")
# Set by `newscrawler reprocess`: the items were made again from archived pages, not fetched now (the store
# updates what changed and leaves lastSeen and the fetch fields alone).
NEWSCRAWLER_REPROCESS = False

# Portal health thresholds (newscrawler/monitors/thresholds.py says what each means). Set any of them here for
# every portal, or in a profile's [health] table for one portal (same keys).
NEWSCRAWLER_HEALTH = {
    "history_runs": 7,             # baseline: the median of the portal's last N healthy runs of the same schedule
    "min_history_runs": 3,         # fewer healthy runs than this: absolute floors only
    "min_articles": 5,             # fewer articles in a run: coverage, selectors and error rate are not judged
    "new_articles_ratio": 0.25,    # degraded below this fraction of the median new articles ...
    "min_new_baseline": 5,         # ... when that median is at least this
    "min_new_articles": 0,         # absolute floor of new articles per run (0: none)
    "coverage_drop": 0.3,          # degraded when a field's coverage falls this far below its baseline
    "min_coverage": {"headline": 0.9, "datePublished": 0.5},  # absolute floors (fraction of articles)
    "body_chars_ratio": 0.5,       # degraded when the median body length falls below this fraction of its baseline
    "min_body_chars": 80,          # absolute floor of the median body length (characters)
    "selector_min_match": 0.5,     # a profile selector matching fewer than this fraction of pages
    "max_error_rate": 0.2,         # degraded above this fraction of failed article pages ...
    "error_rate_margin": 0.1,      # ... that is also this far above its baseline
    "schema_sample": 20,           # articles per portal and run checked against the article JSON Schema
}
# Alerts (webhook and e-mail targets and credentials come from the environment, see README): a portal that
# stays broken is reminded at most once per this many hours; each delivery gives up after the timeout.
NEWSCRAWLER_ALERT_REMIND_HOURS = 24
NEWSCRAWLER_ALERT_TIMEOUT = 10

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
