"""newscrawler's own Scrapy signals (sent through `crawler.signals`, like Scrapy's).

fetch_failed(url, kind, reason, site, status, **extra)
    A page could not be fetched or turned into an article: `kind` is "home", "column", "article" or
    "extraction"; `status` the HTTP status when there was a response. The run recorder keeps it in the run
    record; the incremental-crawl middleware remembers dead article links, failed listing pages (the column's
    walk is not whole) and article pages to fetch again next run. Extra keywords the spider adds: `linked`
    (the article's canonical URL), `continuation` (a 下一页 page of a multi-page article), `column` (the
    listing the page was reached from) and `page` (a column page's number).

abort_downloads()
    The run is stopping (deadline or signal) and its grace has passed: the HTTP handler aborts the
    connections still open (newscrawler/stopping.py). Handlers return how many they aborted.

articles_written(counts)
    A batch was written to the store; `counts` is its store.WriteCounts (what was new, updated, and which
    fields of which articles changed). `newscrawler reprocess` reports from it.

run_closing(reason)
    Sent by the run recorder when the spider closes, just before it builds the run record: components put
    what the record must say into the crawl stats then (Scrapy calls spider_closed handlers in the order
    they were connected, and extensions connect before middlewares).
"""

fetch_failed = object()
abort_downloads = object()
articles_written = object()
run_closing = object()
