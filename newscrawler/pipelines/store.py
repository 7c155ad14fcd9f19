"""Last stage: batched bulk upserts into the store, flushed (journalled) when the spider closes.

An article too large for the database is cut first (store/limits.py; the cut is recorded in `truncated`).
If the database goes away mid-run (a write fails, or the store extension's watch finds it gone), the crawl
stops fetching and every article not written — the failed batch and whatever is still in flight — is kept
in a JSON Lines spill file under the data directory (named in the log and the run record); the next run
loads it (newscrawler/spill.py). If even the spill cannot be written (a full disk), the articles' URLs are
logged, so nothing is dropped without a record; their column walks are left incomplete, so the next run
fetches them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from newscrawler import config, signals, spill
from newscrawler.extensions.store import require_run, store_lost, store_of
from newscrawler.store import StoreError, limits

logger = logging.getLogger(__name__)
# URLs named per log line when articles could not even be spilled (the line stays readable in cron's mail).
URLS_PER_LINE = 20


class StorePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.batch_size = crawler.settings.getint("STORE_BATCH_SIZE")
        self.max_wait = crawler.settings.getfloat("STORE_MAX_WAIT")
        self.buffer: list[Any] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timed: set[asyncio.Future] = set()  # flushes the timer started
        self.writing: dict[int, list[Any]] = {}  # batches handed to the database, not yet acknowledged
        self.failed = False
        # Reprocess hands items made again from archived pages: the store must not treat them as fetched now.
        self.refetched = not crawler.settings.getbool("NEWSCRAWLER_REPROCESS")

    @classmethod
    def from_crawler(cls, crawler) -> StorePipeline:
        require_run(crawler)  # only a crawl run reads or writes the database
        return cls(crawler)

    def open_spider(self) -> None:
        self.store = store_of(self.crawler)

    async def process_item(self, item: Any) -> Any:
        cut = limits.bound(ItemAdapter(item))
        if cut:
            self.crawler.stats.inc_value("articles/truncated")
            logger.warning("%s is too large to store whole: cut %s (recorded in its `truncated` field)",
                           ItemAdapter(item).get("canonicalUrl") or ItemAdapter(item).get("url"), ", ".join(cut))
        if self.failed or self.store.lost:
            self._spill([item])
            return item
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            await self.flush()
        elif self._timer is None and self.max_wait > 0:
            self._timer = asyncio.get_running_loop().call_later(self.max_wait, self._flush_waiting)
        return item

    def _flush_waiting(self) -> None:
        """STORE_MAX_WAIT after the oldest article waiting: a slow crawl's articles reach the database within
        seconds of being fetched, not when a batch fills (which, with AutoThrottle, may take many minutes)."""
        self._timer = None
        if not self.buffer:
            return
        task = asyncio.ensure_future(self.flush())
        self._timed.add(task)
        task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Future) -> None:
        self._timed.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("writing a batch of articles failed", exc_info=task.exception())

    async def close_spider(self) -> None:
        if self._timed:
            await asyncio.gather(*self._timed, return_exceptions=True)
        await self.flush(final=True)

    async def flush(self, final: bool = False) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.store.lost:
            self.spill_buffer()
            return
        batch, self.buffer = self.buffer, []
        if not batch:
            return
        stats = self.crawler.stats
        self.writing[id(batch)] = batch
        try:
            counts = await self.store.in_writer(self.store.articles.write, batch, final=final,
                                                refetched=self.refetched)
        except StoreError as exc:
            self.writing.pop(id(batch), None)
            self.failed = True
            path = self._spill(batch)
            store_lost(self.crawler, self.store, exc)
            if path:
                logger.error("%d unwritten articles kept in %s", len(batch), path)
            return
        self.writing.pop(id(batch), None)
        stats.inc_value("articles/new", counts.new)
        stats.inc_value("articles/updated", counts.updated)
        stats.inc_value("articles/unchanged", counts.unchanged)
        for (site, outcome), n in counts.by_site.items():
            stats.inc_value(f"portal/{site}/articles_{outcome}", n)
        for fields in counts.changed.values():
            for name in fields:
                stats.inc_value(f"fields_changed/{name}")
        self.crawler.signals.send_catch_log(signals.articles_written, counts=counts)

    def spill_buffer(self, upstream: Iterable[Any] = ()) -> tuple[int, Path | None]:
        """Spill what is not known to be written (the store is gone, or a run stopped at once): the batches
        being written (they may never reach the database; loading one back twice is harmless), the next one, and
        `upstream` items not yet here (a run stopped at once: those dedup was holding); how many, and where (None
        when even the spill failed: the URLs are logged)."""
        batch = [item for pending in self.writing.values() for item in pending] + self.buffer + list(upstream)
        self.writing, self.buffer = {}, []
        return len(batch), (self._spill(batch) if batch else None)

    def spill_path(self) -> Path:
        data_dir = config.data_dir(self.crawler.settings.get("NEWSCRAWLER_DATA_DIR") or None)
        return data_dir / "spill" / f"{self.crawler.stats.get_value('newscrawler/run_id', 'run')}.jsonl"

    def _spill(self, items: list[Any]) -> Path | None:
        """Append the items to the run's spill file (`db load-spill` or the next run stores them)."""
        stats = self.crawler.stats
        path = self.spill_path()
        try:
            spill.write(path, items)
        except OSError as exc:
            stats.inc_value("store/spill_failed", len(items))
            urls = [ItemAdapter(it).get("canonicalUrl") or ItemAdapter(it).get("url") for it in items]
            logger.error("could not keep %d articles in the spill file %s (%s); they are fetched again next run: "
                         "%s", len(items), path, exc.strerror or exc, " ".join(urls[:URLS_PER_LINE]))
            for start in range(URLS_PER_LINE, len(urls), URLS_PER_LINE):
                logger.error("… not kept either: %s", " ".join(urls[start:start + URLS_PER_LINE]))
            return None
        stats.set_value("store/spill_file", str(path))
        stats.inc_value("store/spilled", len(items))
        return path
