"""The `meta` collection: the store's identity and whether its derived data (counters, search index) is whole.

`{_id: "store"}` carries a random id made when the database is first opened: the search index (a file next
to the data directory) records it, so an index built for another database is never trusted.
`{_id: "counters"}` says the per-day counters hold every article (a fresh store, or `db reindex` ran).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

COUNTERS_VERSION = 1


class MetaRoom:
    def __init__(self, db: Database):
        self.collection = db["meta"]

    def ensure_indexes(self) -> None:
        """Only `_id` is queried."""

    def store_id(self) -> str:
        doc = self.collection.find_one({"_id": "store"})
        if doc is None:
            # Two processes opening a new store at once both upsert; the first id written wins for both. The one
            # that loses the race may get nothing back (the embedded server answers None: 8 of 40 rounds of six
            # concurrent first opens) or a duplicate key error (MongoDB): it reads the winner's id.
            try:
                doc = self.collection.find_one_and_update(
                    {"_id": "store"}, {"$setOnInsert": {"storeId": uuid.uuid4().hex, "createdAt": datetime.now(UTC)}},
                    upsert=True, return_document=True)
            except DuplicateKeyError:
                doc = None
            if doc is None:
                doc = self.collection.find_one({"_id": "store"})
        return doc["storeId"]

    def counters_complete(self) -> bool:
        doc = self.collection.find_one({"_id": "counters"})
        return bool(doc and doc.get("complete") and doc.get("version") == COUNTERS_VERSION)

    def set_counters_complete(self, complete: bool) -> None:
        self.collection.update_one({"_id": "counters"}, {"$set": {
            "complete": complete, "version": COUNTERS_VERSION, "at": datetime.now(UTC)}}, upsert=True)
