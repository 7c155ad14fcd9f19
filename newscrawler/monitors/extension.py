"""PortalHealth, the Scrapy extension: counts what each portal's items carried while the run goes on, and when
the spider closes runs the declared monitors (suites.py) over every portal of the run, against its history.

The run recorder asks it for the verdict (`evaluate`), whichever of the two sees the spider close first, and
takes the exit status from it: a portal that failed outright → 1, one degraded → 4.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from itemadapter import ItemAdapter
from scrapy import signals as scrapy_signals
from scrapy.crawler import Crawler

from newscrawler import schema, signals
from newscrawler.extensions.store import require_run, store_of
from newscrawler.monitors.checks import PortalRun
from newscrawler.monitors.metrics import ARTICLE_KINDS, PortalCounters, drop_reason, portal_metrics
from newscrawler.monitors.thresholds import Thresholds
from newscrawler.store import StoreError

logger = logging.getLogger(__name__)


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


class PortalHealth:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.thresholds = Thresholds.default().merged(settings.getdict("NEWSCRAWLER_HEALTH"))
        self.counters: dict[str, PortalCounters] = defaultdict(PortalCounters)
        self.run = None
        self._validator = None
        crawler.signals.connect(self.item_scraped, signal=scrapy_signals.item_scraped)
        crawler.signals.connect(self.item_dropped, signal=scrapy_signals.item_dropped)
        crawler.signals.connect(self.item_error, signal=scrapy_signals.item_error)
        crawler.signals.connect(self.fetch_failed, signal=signals.fetch_failed)
        crawler.signals.connect(self.spider_closed, signal=scrapy_signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PortalHealth:
        require_run(crawler)  # the monitors judge runs: `scrapy shell`, `parse` … are not
        return cls(crawler)

    # -- while the run goes on: one cheap update per item ------------------------------------------------
    def item_scraped(self, item: Any, **_: Any) -> None:
        article = ItemAdapter(item)
        counters = self.counters[article.get("site")]
        counters.count_article(article)
        if counters.schema_checked < self.thresholds.schema_sample:
            self._check_schema(item, counters)

    def item_dropped(self, item: Any, exception: BaseException, **_: Any) -> None:
        article = ItemAdapter(item)
        self.counters[article.get("site")].count_dropped(article, drop_reason(exception))

    def item_error(self, item: Any, **_: Any) -> None:
        self.counters[ItemAdapter(item).get("site")].item_errors += 1

    def fetch_failed(self, kind: str, reason: str, site: str | None = None, status: int | None = None,
                     **_: Any) -> None:
        if kind in ARTICLE_KINDS and site:
            self.counters[site].count_fetch_error(kind, status, reason)

    def _check_schema(self, item: Any, counters: PortalCounters) -> None:
        """Spidermon's JSON Schema validator on the article as exported (dates as ISO strings): on a sample
        only, as it costs about 1.4 ms an article (README, "Portal health")."""
        if self._validator is None:
            from spidermon.contrib.validation import JSONSchemaValidator

            self._validator = JSONSchemaValidator(schema.json_schema())
        exported = json.loads(json.dumps(schema.document(item), default=_json_value))
        ok, errors = self._validator.validate(exported)
        counters.schema_checked += 1
        if not ok:
            for name, messages in errors.items():
                counters.schema_errors.setdefault(name, messages[0])

    # -- when the spider closes ----------------------------------------------------------------------------
    def spider_closed(self, spider, reason: str) -> None:
        self.evaluate(spider, reason)

    def evaluate(self, spider, reason: str):
        """Run the monitors once (later calls return the same verdict): a suites.HealthRun."""
        if self.run is not None:
            return self.run
        from newscrawler.monitors.suites import HealthMonitorRunner, HealthRun, PortalHealthSuite, portal_statuses

        started = time.process_time()

        settings = self.crawler.settings
        stats = self.crawler.stats.get_stats()
        profiles = getattr(spider, "profiles", None) or {}
        if spider.name == "import":
            schedule = "import"
            sites = sorted(s for s in self.counters if s)
        else:
            schedule = " ".join(["crawl"] + [flag for flag, setting in (("--backfill", "NEWSCRAWLER_BACKFILL"),
                                                                         ("--recheck", "NEWSCRAWLER_RECHECK"))
                                             if settings.getbool(setting)])
            sites = sorted(profiles)
        try:
            store = store_of(self.crawler)
        except (StoreError, RuntimeError) as exc:
            logger.error("portal health: no store (%s); portals judged by absolute floors only", exc)
            store = None
        kinds = schema.selectable()
        portals: dict[str, PortalRun] = {}
        problems = []
        for site in sites:
            profile = profiles.get(site)
            thresholds = self.thresholds.merged(profile.health if profile else None)
            history: list[dict[str, Any]] = []
            state = None
            if store is not None:
                try:
                    history = store.health.history(site, schedule, thresholds.history_runs)
                    state = store.health.state(site)
                except StoreError as exc:
                    problems.append(f"{exc}; {site} judged by absolute floors only")
            portals[site] = PortalRun(
                site=site, metrics=portal_metrics(site, stats, self.counters.get(site) or PortalCounters()),
                thresholds=thresholds, history=history, mode=schedule.split()[0],
                profile_path=profile.path if profile else None,
                selectors=dict(profile.selectors) if profile else {},
                selector_kinds={name: kinds.get(name) for name in (profile.selectors if profile else {})},
                carried={c["check"]: c for c in (state or {}).get("checks", [])})
        self.run = HealthRun(
            run_id=str(stats.get("newscrawler/run_id", "?")), run_started=stats.get("start_time"),
            schedule=schedule, judged=reason == "finished", close_reason=reason, portals=portals,
            names={site: p.name for site, p in profiles.items()}, store=store, env=dict(os.environ),
            remind_every=timedelta(hours=settings.getfloat("NEWSCRAWLER_ALERT_REMIND_HOURS", 24)),
            timeout=settings.getfloat("NEWSCRAWLER_ALERT_TIMEOUT", 10))
        for message in problems:
            self.run.problem(message)
        if portals:
            suite = PortalHealthSuite(portals=list(portals), crawler=self.crawler)
            result = HealthMonitorRunner(spider).run(suite, stats=stats, crawler=self.crawler, spider=spider,
                                                     health=self.run)
            # The verdict is the monitors' (not the actions', which may fail without changing it).
            self.run.statuses = portal_statuses(result)
        self.run.cpu_seconds = round(time.process_time() - started, 4)
        for site, status in sorted(self.run.statuses.items()):
            logger.log(logging.INFO if status == "ok" else logging.WARNING, "portal %s: %s%s", site, status,
                       "" if self.run.judged else " (not judged: the run ended early)")
        return self.run


def health_of(crawler: Crawler) -> PortalHealth | None:
    """The crawl's PortalHealth extension, or None when it is not enabled."""
    try:
        return crawler.get_extension(PortalHealth)
    except RuntimeError:
        return None
