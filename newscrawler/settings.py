"""Scrapy settings for newscrawler. Components are small and wired here, Scrapy-style.

Per-portal politeness (delay, concurrency) comes from the profiles and is applied by the spider as
DOWNLOAD_SLOTS keyed by site; these are the defaults around it.
"""


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
# Wired below as ProfileAutoThrottle, which never goes under a portal's own download_delay.
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
# Scrapy 2.19's remote control listens for commands like Telnet did; nothing here uses it.
REMOTE_CONTROL_ENABLED = False
# Article pages are small; a 10 MB page is not news.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

# `scrapy crawl` runs through the same run frame as `newscrawler crawl` (lock, log file, record, exit status).
COMMANDS_MODULE = "newscrawler.commands"

DOWNLOADER_MIDDLEWARES = {
    # Scrapy's lets through requests that wait for a host's robots.txt (all but the first): ours checks them.
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "newscrawler.robots.RobotsTxtMiddleware": 100,
    # Each portal's requests stay on its profile's hosts, redirects included (after RedirectMiddleware, 600,
    # so it sees a 3xx before it is followed); replaces Scrapy's one-list-per-spider OffsiteMiddleware.
    "scrapy.downloadermiddlewares.offsite.OffsiteMiddleware": None,
    "newscrawler.offsite.PortalOffsite": 650,
}
# Scrapy's HTTP/1.1 handler, whose open connections can be aborted when a stopping run's grace has passed.
DOWNLOAD_HANDLERS = {
    "http": "newscrawler.stopping.AbortableHTTP11DownloadHandler",
    "https": "newscrawler.stopping.AbortableHTTP11DownloadHandler",
}
SPIDER_MIDDLEWARES = {
    # Skips stored articles and dead links, stops a column's walk at the first page with nothing new.
    "newscrawler.middlewares.IncrementalCrawl": 950,
}
# `scrapy crawl portal -o FILE` (or FEEDS) writes each article as `newscrawler db export` does: exported fields
# only, dates with their offset, UTF-8 text.
FEED_EXPORTERS = {fmt: f"newscrawler.feeds.{name}" for fmt, name in (
    ("json", "JsonExporter"), ("jsonlines", "JsonLinesExporter"), ("jsonl", "JsonLinesExporter"),
    ("jl", "JsonLinesExporter"), ("csv", "CsvExporter"), ("xml", "XmlExporter"), ("pickle", "PickleExporter"),
    ("marshal", "MarshalExporter"))}
FEED_EXPORT_ENCODING = "utf-8"
ITEM_PIPELINES = {
    "newscrawler.pipelines.validate.ValidatePipeline": 300,
    "newscrawler.pipelines.normalise.NormalisePipeline": 400,
    "newscrawler.pipelines.dedup.DedupPipeline": 500,
    "newscrawler.pipelines.store.StorePipeline": 900,
}
EXTENSIONS = {
    "scrapy.extensions.throttle.AutoThrottle": None,
    "newscrawler.throttle.ProfileAutoThrottle": 0,
    # The crawl's one Store (crawler.get_extension(StoreExtension).store), closed when the engine stops.
    "newscrawler.extensions.store.StoreExtension": 0,
    # Per-portal health monitors (newscrawler/monitors): judge each portal at the end of every run, record its
    # state in the store, alert on a change; the run's exit status comes from them.
    "newscrawler.monitors.extension.PortalHealth": 50,
    "newscrawler.extensions.run.RunRecorder": 100,
    # At the deadline or a stop signal, downloads still open after a few seconds are aborted.
    "newscrawler.stopping.StopGrace": 200,
    # Keeps every fetched article page in DATA_DIR/archive/<run>.warc.gz for `newscrawler reprocess`.
    "newscrawler.extensions.archive.PageArchive": 200,
    # The garbage collector's thresholds for the crawl (NEWSCRAWLER_GC_THRESHOLD): with Python's own it took ~9 %
    # of the crawler's CPU, with these ~3 %.
    "newscrawler.extensions.collector.CollectorPace": 0,
    # Article pages are extracted in a process of their own, on the second core (NEWSCRAWLER_EXTRACT_PROCESS).
    "newscrawler.extensions.extraction.ExtractionProcess": 0,
}
# gc.set_threshold while the engine runs (extensions/collector.py; Python's own: 700, 10, 10).
NEWSCRAWLER_GC_THRESHOLD = [10000, 20, 20]
# extract() in a worker process (extensions/extraction.py); false: in the crawler itself. A page the worker spends
# longer than NEWSCRAWLER_EXTRACT_TIMEOUT seconds on is recorded as failed and the worker replaced.
NEWSCRAWLER_EXTRACT_PROCESS = True
NEWSCRAWLER_EXTRACT_TIMEOUT = 120

# Storage: MONGO_URI empty → the embedded server under NEWSCRAWLER_DATA_DIR (both also read from the
# environment by newscrawler.config when the CLI starts the crawl).
MONGO_URI = ""
MONGO_DATABASE = ""
NEWSCRAWLER_DATA_DIR = ""
# Articles per bulk write, or whatever arrived within STORE_MAX_WAIT seconds; the last batch is flushed
# (journalled) when the spider closes. 500: a backfill's batches touch each day's counters once where batches of 200
# touched many twice (the replay crawl's database command time 9.7 → 7.8 s); the wait bounds how long a slow
# crawl's articles stay in memory (a run killed with SIGKILL loses what it holds; the next run fetches it again).
STORE_BATCH_SIZE = 500
STORE_MAX_WAIT = 5.0
# The store's watch pings the database every STORE_HEARTBEAT seconds (0: no watch) and takes it for lost when a
# ping is not answered within STORE_LOST_AFTER: the crawl then stops fetching and spills what it holds.
STORE_HEARTBEAT = 1.0
STORE_LOST_AFTER = 3.0
# An operation the server accepts and never answers fails after this long (a stalled server).
STORE_SOCKET_TIMEOUT_MS = 10_000
# Dedup decides articles in batches of this many, or whatever arrived within DEDUP_MAX_WAIT seconds. Batches end
# at 12-22 articles in the crawl benchmark; at 1 s they filled (a third of the database round trips), but articles
# waited longer: after the database died the crawl fetched 776 of 811 articles before stopping, against under 560
# at 0.2 s (tests/test_faults_store.py), so 0.2 s stays.
DEDUP_BATCH_SIZE = 100
DEDUP_MAX_WAIT = 0.2
# The run's log file, named in the run record (set by `newscrawler crawl` / `import`).
NEWSCRAWLER_LOG_FILE = ""
# Set by the run frame (newscrawler/cli/common.py) of `newscrawler crawl`/`import` and `scrapy crawl`, which
# hold the data directory's lock: only then do components read or write the database or record the run.
NEWSCRAWLER_RUN = False
NEWSCRAWLER_HOST = ""
# The run closes gracefully at this deadline (`4h`, `90m`, seconds; 0 = none) and exits 5, so a hung run
# never holds the lock over the next night's. Also --max-runtime and the environment variable of this name.
NEWSCRAWLER_MAX_RUNTIME = "4h"
# Seconds the graceful close at the deadline may take before the run is stopped at once (spilling what is
# not written), so that even a hung database write never keeps the lock.
NEWSCRAWLER_STOP_GRACE = 120
# Run logs and loaded spill files (`*.jsonl.loaded`) older than this are deleted when a run starts
# (0 = keep forever). Also the environment variable of this name.
NEWSCRAWLER_LOG_RETENTION_DAYS = 30
# True when crawling a local replay: the profiles' per-portal delays and concurrency are not applied.
NEWSCRAWLER_IGNORE_POLITENESS = False
# Follow column pagination past pages whose articles are all known (set by --backfill).
NEWSCRAWLER_BACKFILL = False
# Fetch known articles on the column pages walked again, to record edits as versions (set by --recheck).
NEWSCRAWLER_RECHECK = False
# The raw-page archive (extensions/archive.py), also from the environment so cron lines can set them
# (cli/common.py ENV_SETTINGS, read when a run starts): off with NEWSCRAWLER_ARCHIVE=0; files older than
# NEWSCRAWLER_ARCHIVE_DAYS days are deleted when a run starts (0: never).
NEWSCRAWLER_ARCHIVE = "1"
NEWSCRAWLER_ARCHIVE_DAYS = "0"
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
# Scrapy's DEBUG "Crawled"/"Scraped" lines are only built when DEBUG is logged.
LOG_FORMATTER = "newscrawler.logformatter.QuietLogFormatter"
# Scrapy's memory stats collector without its per-call deprecation shim (20x cheaper per inc_value).
STATS_CLASS = "newscrawler.statscollector.PlainStatsCollector"
FEED_EXPORT_ENCODING = "utf-8"
