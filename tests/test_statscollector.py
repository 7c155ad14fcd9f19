"""The crawl's stats collector (newscrawler/statscollector.py): Scrapy's MemoryStatsCollector without the
per-access shim; the same operations must leave the same stats."""

from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.misc import load_object
from scrapy.utils.test import get_crawler

from newscrawler import settings
from newscrawler.statscollector import PlainStatsCollector


def test_the_crawl_uses_it_and_it_keeps_the_same_stats_as_scrapys():
    assert load_object(settings.STATS_CLASS) is PlainStatsCollector
    crawler = get_crawler()
    ours, scrapys = PlainStatsCollector(crawler), MemoryStatsCollector(crawler)
    for stats in (ours, scrapys):
        stats.open_spider()
        stats.inc_value("portal/jzrb/articles_new")
        stats.inc_value("portal/jzrb/articles_new", 4)
        stats.inc_value("started", start=10)
        stats.max_value("max", 3)
        stats.max_value("max", 2)
        stats.min_value("min", 3)
        stats.min_value("min", 5)
        stats.set_value("run", "r1")
    assert ours.get_stats() == scrapys.get_stats() == {"portal/jzrb/articles_new": 5, "started": 11, "max": 3,
                                                       "min": 3, "run": "r1"}
    assert ours.get_value("missing", 7) == 7
