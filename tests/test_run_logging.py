"""The run's log level holds for Scrapy's loggers too: their DEBUG records are not even built in a run at INFO."""

from __future__ import annotations

import logging

import pytest
from scrapy.settings import Settings
from scrapy.utils.log import configure_logging

from newscrawler.cli.process import scrapy_logs_at_run_level


@pytest.fixture
def logging_state():
    root, scrapy_logger = logging.getLogger(), logging.getLogger("scrapy")
    saved = root.level, scrapy_logger.level
    yield root
    root.setLevel(saved[0])
    scrapy_logger.setLevel(saved[1])


@pytest.mark.parametrize("run_level, debug_built", [("INFO", False), ("WARNING", False), ("DEBUG", True)])
def test_scrapy_debug_lines_follow_the_run_level(logging_state, run_level, debug_built):
    logging_state.setLevel(run_level)  # what setup_logging does with --log-level
    configure_logging(Settings({"LOG_INSTALL_ROOT_HANDLER": False}))  # as RunProcess does: "scrapy" at DEBUG
    assert logging.getLogger("scrapy.core.engine").isEnabledFor(logging.DEBUG)
    scrapy_logs_at_run_level()
    assert logging.getLogger("scrapy.core.engine").isEnabledFor(logging.DEBUG) is debug_built
    assert logging.getLogger("scrapy.core.scraper").isEnabledFor(logging.INFO) is (run_level != "WARNING")
