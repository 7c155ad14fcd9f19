"""Third stage: which story each article belongs to (exact and near duplicates across runs and portals).

Items are held for a moment and decided in batches (DEDUP_BATCH_SIZE, or whatever arrived within
DEDUP_MAX_WAIT seconds), so the database sees a few `$in` look-ups and bulk writes per batch instead of a
round trip per item. Each item gets `cluster`, `dedup` (exact / near / none) and `duplicateOf`. The
engine (newscrawler/dedup/) decides; its state is the store's fingerprints room.
"""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred

from newscrawler.dedup.engine import Deduplicator
from newscrawler.extensions.store import require_run, store_lost, store_of
from newscrawler.normalise.sources import site_outlets
from newscrawler.pipelines.normalise import profile_for
from newscrawler.store import StoreError

logger = logging.getLogger(__name__)


class DedupPipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.batch_size = crawler.settings.getint("DEDUP_BATCH_SIZE")
        self.max_wait = crawler.settings.getfloat("DEDUP_MAX_WAIT")
        self.pending: list[tuple[Any, Deferred]] = []
        self.deciding: dict[int, list[Any]] = {}  # batches on the writer thread, not decided yet
        self._timer = None

    @classmethod
    def from_crawler(cls, crawler) -> DedupPipeline:
        require_run(crawler)  # only a crawl run reads or writes the database
        return cls(crawler)

    def open_spider(self) -> None:
        self.store = store_of(self.crawler)
        self.dedup = Deduplicator(self.store.fingerprints)

    async def process_item(self, item: Any) -> Any:
        done: Deferred = Deferred()
        self.pending.append((item, done))
        if len(self.pending) >= self.batch_size:
            self.flush()
        elif self._timer is None:
            from twisted.internet import reactor

            self._timer = reactor.callLater(self.max_wait, self.flush)
        return await maybe_deferred_to_future(done)

    async def close_spider(self) -> None:
        await maybe_deferred_to_future(self.flush(final=True))

    def original(self, item: ItemAdapter) -> bool:
        """Whether the item is its outlet's own article: no 来源, or a 来源 that is the site itself."""
        if not item.get("source"):
            return True
        profile = profile_for(self.crawler, item.get("site"))
        return item["source"] in site_outlets(item.get("site"), profile.name if profile else None)

    def flush(self, final: bool = False) -> Deferred:
        """Decide the waiting batch on the store's writer thread (so fetching goes on meanwhile, and batches
        are decided in order with the store's writes); each waiting item is released with its decision."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        batch, self.pending = self.pending, []
        return deferred_from_coro(self._decide(batch, final))

    def undecided(self) -> list[Any]:
        """The items this stage holds (waiting, or being decided): what a run stopped at once spills with the
        store's batch, so that they are stored (and clustered) when the spill is loaded."""
        return [item for batch in self.deciding.values() for item in batch] + [item for item, _ in self.pending]

    async def _decide(self, batch: list[tuple[Any, Deferred]], final: bool) -> None:
        if not batch:
            return
        self.deciding[id(batch)] = [it for it, _ in batch]
        try:
            await self._decide_batch(batch, final)
        finally:
            self.deciding.pop(id(batch), None)

    async def _decide_batch(self, batch: list[tuple[Any, Deferred]], final: bool) -> None:
        items = [ItemAdapter(it) for it, _ in batch]
        stats = self.crawler.stats
        decisions = [None] * len(items)
        if self.store.lost:
            pass  # the crawl is stopping: the articles are spilled, and clustered when the spill is loaded
        else:
            try:
                decisions = await self.store.in_writer(self.dedup.process, items,
                                                       [self.original(it) for it in items], final=final)
            except StoreError as exc:
                store_lost(self.crawler, self.store, exc)
            except Exception:
                # Storing the articles matters more than clustering them: pass them on undecided.
                logger.exception("dedup failed for a batch of %d items; stored without a cluster", len(items))
                stats.inc_value("dedup/errors")
        for (item, done), article, decision in zip(batch, items, decisions, strict=True):
            if decision is not None:
                article.update(decision.fields())
                stats.inc_value("dedup/known" if decision.known else f"dedup/{decision.kind}")
            done.callback(item)
