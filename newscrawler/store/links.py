"""The `dead_links` collection: article links that answered 404/410, not asked for again for a while."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pymongo import ASCENDING, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from newscrawler.store.connection import StoreError, reason

# An article link that answered 404/410 is not asked for again until this many days have passed.
DEAD_LINK_RETRY_DAYS = 7


# Up to this many dead links are read once, on a crawl's first question, and answered from memory after that
# (a crawl asks once per listing page: 128 look-ups of an empty collection over the replay, 1.1 s of the
# ~16 s its database commands took). A store with more keeps asking the database.
SNAPSHOT_MAX = 20_000


class LinkRoom:
    def __init__(self, collection: Collection):
        self.collection = collection
        self._snapshot: dict[str, datetime] | None = None
        self._snapshot_tried = False

    def ensure_indexes(self) -> None:
        self.collection.create_index([("url", ASCENDING)], unique=True, name="url_unique")

    def dead(self, urls: Iterable[str], retry_days: int = DEAD_LINK_RETRY_DAYS) -> set[str]:
        """Which of these canonical URLs answered 404/410 within the last `retry_days`."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return set()
        cutoff = datetime.now(UTC) - timedelta(days=retry_days)
        snapshot = self._read_snapshot(cutoff)
        if snapshot is not None:
            return {u for u in wanted if u in snapshot and snapshot[u] > cutoff}
        return {d["url"] for d in self.collection.find({"url": {"$in": wanted}, "lastTried": {"$gt": cutoff}},
                                                       {"url": 1, "_id": 0})}

    def _read_snapshot(self, cutoff: datetime) -> dict[str, datetime] | None:
        """The recently dead links (URL → when last tried), read once if there are few; None if there are many.
        Links recorded dead later (record_dead) are added to it."""
        if not self._snapshot_tried:
            self._snapshot_tried = True
            if self.collection.estimated_document_count() <= SNAPSHOT_MAX:
                self._snapshot = {d["url"]: _aware(d["lastTried"]) for d in self.collection.find(
                    {"lastTried": {"$gt": cutoff}}, {"url": 1, "lastTried": 1, "_id": 0})}
        return self._snapshot

    def record_dead(self, links: dict[str, int]) -> None:
        """Remember article links that answered 404/410 (canonical URL → status)."""
        if not links:
            return
        now = datetime.now(UTC)
        try:
            self.collection.bulk_write([
                UpdateOne({"url": url}, {"$set": {"status": status, "lastTried": now},
                                         "$setOnInsert": {"firstSeen": now}, "$inc": {"tries": 1}}, upsert=True)
                for url, status in links.items()])
        except PyMongoError as exc:
            raise StoreError(f"recording {len(links)} dead links failed: {reason(exc)}") from None
        if self._snapshot is not None:
            self._snapshot.update(dict.fromkeys(links, now))


def _aware(when: datetime) -> datetime:
    """A stored time as UTC (a client without tz_aware reads naive datetimes)."""
    return when if when.tzinfo else when.replace(tzinfo=UTC)
