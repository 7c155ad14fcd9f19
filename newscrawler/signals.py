"""newscrawler's own Scrapy signals (sent through `crawler.signals`, like Scrapy's).

fetch_failed(url, kind, reason, site, status)
    A page could not be fetched or turned into an article: `kind` is "home", "column", "article" or
    "extraction"; `status` the HTTP status when there was a response. The run recorder keeps it in the run
    record; the incremental-crawl middleware remembers dead article links.

abort_downloads()
    The run is stopping (deadline or signal) and its grace has passed: the HTTP handler aborts the
    connections still open (newscrawler/stopping.py). Handlers return how many they aborted.

articles_written(counts)
    A batch was written to the store; `counts` is its store.WriteCounts (what was new, updated, and which
    fields of which articles changed). `newscrawler reprocess` reports from it.
"""

fetch_failed = object()
abort_downloads = object()
articles_written = object()
