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


class LinkRoom:
    def __init__(self, collection: Collection):
        self.collection = collection

    def ensure_indexes(self) -> None:
        self.collection.create_index([("url", ASCENDING)], unique=True, name="url_unique")

    def dead(self, urls: Iterable[str], retry_days: int = DEAD_LINK_RETRY_DAYS) -> set[str]:
        """Which of these canonical URLs answered 404/410 within the last `retry_days`."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return set()
        cutoff = datetime.now(UTC) - timedelta(days=retry_days)
        return {d["url"] for d in self.collection.find({"url": {"$in": wanted}, "lastTried": {"$gt": cutoff}},
                                                       {"url": 1, "_id": 0})}

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
