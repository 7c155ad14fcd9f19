"""Last stage: batched bulk upserts into the store, flushed (journalled) when the spider closes.

If the database goes away mid-run, the unwritten batch is kept in a JSON Lines spill file under the
data directory (named in the log and the run record) and the crawl stops: nothing fetched is lost.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from scrapy.utils.defer import deferred_from_coro

from newscrawler import config, schema, signals
from newscrawler.extensions.store import require_run, store_of
from newscrawler.store import StoreError

logger = logging.getLogger(__name__)


class StorePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.batch_size = crawler.settings.getint("STORE_BATCH_SIZE")
        self.buffer: list[Any] = []
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
        if self.failed:
            self._spill([item])
            return item
        self.buffer.append(item)
        if len(self.buffer) >= self.batch_size:
            await self.flush()
        return item

    async def close_spider(self) -> None:
        await self.flush(final=True)

    async def flush(self, final: bool = False) -> None:
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
            stats.inc_value("store/errors")
            path = self._spill(batch)
            logger.error("%s; %d articles kept in %s; stopping the crawl", exc, len(batch), path)
            if self.crawler.crawling and not final:
                deferred_from_coro(self.crawler.engine.close_spider_async(reason="store_failed"))
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

    def spill_buffer(self) -> tuple[int, Path | None]:
        """Spill what is not known to be written (a run stopped at once): the batches being written (they may
        never reach the database; loading one back twice is harmless) and the next one; how many, and where."""
        batch = [item for pending in self.writing.values() for item in pending] + self.buffer
        self.writing, self.buffer = {}, []
        return len(batch), (self._spill(batch) if batch else None)

    def _spill(self, items: list[Any]) -> Path:
        """Append the items' stored fields to the run's spill file (`db load-spill` stores them later)."""
        stats = self.crawler.stats
        spill_dir = config.data_dir(self.crawler.settings.get("NEWSCRAWLER_DATA_DIR") or None) / "spill"
        spill_dir.mkdir(parents=True, exist_ok=True)
        path = spill_dir / f"{stats.get_value('newscrawler/run_id', 'run')}.jsonl"
        with path.open("a", encoding="utf-8") as fh:
            for item in items:
                fh.write(json.dumps(schema.document(item), ensure_ascii=False, default=_json_default) + "\n")
        stats.set_value("store/spill_file", str(path))
        stats.inc_value("store/spilled", len(items))
        return path


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
