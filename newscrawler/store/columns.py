"""The `crawl_columns` collection: how far each listing (a portal's home page or column) was walked.

One document per listing URL (the column's first page):

    _id            the listing URL
    site           the portal
    whole          true when the last walk reached the last complete point with no listing page failing
    anchor         canonical URLs on the first page of the last whole walk: the last complete point, where
                   the next walk may stop (everything below it was walked)
    wholeAt        when that walk ran
    incompleteSince  when the column stopped being whole (None while whole)
    gaps           listing pages that failed since the last whole walk: [{url, page, reason, at}]
    retry          article pages linked from here whose fetch failed for a reason that may pass (an HTTP 5xx,
                   a timeout, a continuation page): [{url, key, reason, tries, firstFailed}]
    lastWalk       {at, pages, ended, failed}

The decisions (where a walk stops, when it is whole) are the IncrementalCrawl middleware's
(newscrawler/middlewares.py); this room only reads and writes the documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, ReplaceOne
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from newscrawler.store.connection import StoreError, journalled, reason


class ColumnRoom:
    def __init__(self, collection: Collection, display_uri: str):
        self.collection = collection
        self.display_uri = display_uri

    def ensure_indexes(self) -> None:
        self.collection.create_index([("site", ASCENDING)], name="site")

    def load(self, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
        """The state of these listings (by URL); a listing never walked has none."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        try:
            return {d["_id"]: d for d in self.collection.find({"_id": {"$in": wanted}})}
        except PyMongoError as exc:
            raise StoreError(f"reading the column state from {self.display_uri} failed: {reason(exc)}") from None

    def save(self, states: Iterable[dict[str, Any]]) -> None:
        """Replace the listings' state in one journalled bulk write (it decides what the next run walks)."""
        ops = [ReplaceOne({"_id": s["_id"]}, s, upsert=True) for s in states]
        if not ops:
            return
        try:
            journalled(self.collection).bulk_write(ops, ordered=False)
        except PyMongoError as exc:
            raise StoreError(f"writing the column state to {self.display_uri} failed: {reason(exc)}") from None

    def of_site(self, site: str) -> list[dict[str, Any]]:
        return list(self.collection.find({"site": site}).sort("_id", ASCENDING))

    def incomplete(self) -> list[dict[str, Any]]:
        """Listings not whole: the columns a person should know are being caught up with."""
        return list(self.collection.find({"whole": False}).sort("_id", ASCENDING))
