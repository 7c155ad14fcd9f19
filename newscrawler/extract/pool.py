"""Extraction off the crawl's event loop: a small process pool, so parsing pages runs on another core
while the crawler keeps fetching. With no workers, extraction runs inline (the same results either way)."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING

from newscrawler.extract.article import Article
from newscrawler.extract.core import extract

if TYPE_CHECKING:
    from newscrawler.profiles import PortalProfile


class ExtractorPool:
    def __init__(self, workers: int = 1):
        # spawn, not fork: the crawler process has database and reactor threads a fork would copy mid-flight.
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) \
            if workers > 0 else None

    async def extract(self, body: bytes, url: str, *, headers: Mapping[str, str] | None = None,
                      profile: PortalProfile | None = None) -> Article:
        if self._pool is None:
            return extract(body, url, headers=headers, profile=profile)
        future = self._pool.submit(extract, body, url, headers=dict(headers or {}), profile=profile)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
