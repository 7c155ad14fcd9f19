"""Per-portal health: is each portal still bringing what it used to, after every run (crawl or import)?

    thresholds.py  what counts as broken (settings' NEWSCRAWLER_HEALTH, a profile's [health] table)
    metrics.py     the numbers of one run, per portal (counted from the crawl's stats and items)
    checks.py      each check: numbers vs the portal's own baseline → ok / degraded / failed / skipped
    suites.py      the declared Spidermon monitors (one per portal) and the actions run after them
    state.py       state changes and when to alert (ok → broken, broken → recovered, a daily reminder)
    alerts.py      the alert message, its webhook POST and its e-mail
    extension.py   the Scrapy extension that runs it all when the spider closes

The health state and each portal's history live in the store (newscrawler/store/health.py).
"""
