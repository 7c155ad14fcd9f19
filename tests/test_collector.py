"""The crawl's garbage-collector pace (newscrawler/extensions/collector.py), through Scrapy's own signals."""

from __future__ import annotations

import gc

import pytest
from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.test import get_crawler

from newscrawler import settings as project
from newscrawler.extensions.collector import CollectorPace


def test_the_crawl_runs_with_its_thresholds_and_a_frozen_heap_then_puts_pythons_back():
    before = gc.get_threshold()
    crawler = get_crawler(settings_dict={"NEWSCRAWLER_GC_THRESHOLD": project.NEWSCRAWLER_GC_THRESHOLD})
    pace = CollectorPace.from_crawler(crawler)  # noqa: F841 - held: Scrapy connects handlers by weak reference
    crawler.signals.send_catch_log(signals.engine_started)
    try:
        assert gc.get_threshold() == tuple(project.NEWSCRAWLER_GC_THRESHOLD) != before
        assert gc.get_freeze_count() > 0
    finally:
        crawler.signals.send_catch_log(signals.engine_stopped)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_an_empty_threshold_leaves_the_collector_alone():
    with pytest.raises(NotConfigured):
        CollectorPace.from_crawler(get_crawler(settings_dict={"NEWSCRAWLER_GC_THRESHOLD": ""}))


def test_the_extension_is_wired_by_the_project_settings():
    assert "newscrawler.extensions.collector.CollectorPace" in project.EXTENSIONS
