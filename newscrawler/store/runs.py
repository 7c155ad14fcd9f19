"""The `crawl_runs` collection: one record per crawl or import, written journalled (the audit trail)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from bson import ObjectId
from pymongo import DESCENDING
from pymongo.collection import Collection
from pymongo.errors import PyMongoError

from newscrawler.store.connection import StoreError, journalled, reason

MAX_SPAN = timedelta(days=3 * 365)


class RunRoom:
    def __init__(self, collection: Collection, display_uri: str, lost: Callable[[], str | None] = lambda: None):
        self.collection = collection
        self.display_uri = display_uri
        # Why the store is known to be gone, if it is: a record is then not even tried (it would wait for
        # the server-selection timeout); the caller keeps it in the spill folder instead.
        self.lost = lost

    def ensure_indexes(self) -> None:
        self.collection.create_index([("startedAt", DESCENDING)], name="startedAt")

    def start(self, record: dict[str, Any]) -> ObjectId:
        doc = {"startedAt": datetime.now(UTC), "status": "running", **record}
        return self._write(lambda c: c.insert_one(doc).inserted_id)

    def finish(self, run_id: ObjectId | str, fields: dict[str, Any], timeout_s: float | None = None) -> None:
        """Close a record (`run_id` as stored, or its string form from a spilled record); `timeout_s` bounds
        the whole write (a run stopped at once gives the database 2 s)."""
        doc = {"endedAt": datetime.now(UTC), **fields}
        run_id = ObjectId(run_id) if isinstance(run_id, str) else run_id
        with pymongo.timeout(timeout_s) if timeout_s is not None else nullcontext():
            self._write(lambda c: c.update_one({"_id": run_id}, {"$set": doc}))

    def running(self) -> list[dict]:
        """Records still marked running (their run is going on, or died without closing them)."""
        return list(self.collection.find({"status": "running"}).sort("startedAt", DESCENDING))

    def abandon(self, run_id: ObjectId, fields: dict[str, Any]) -> bool:
        """Mark a running record abandoned (its process is gone); False if it was closed meanwhile."""
        doc = {"status": "abandoned", "abandonedAt": datetime.now(UTC), **fields}
        result = self._write(lambda c: c.update_one({"_id": run_id, "status": "running"}, {"$set": doc}))
        return bool(result.modified_count)

    def _write(self, op):
        if self.lost():
            raise StoreError(f"writing the crawl record to {self.display_uri} failed: {self.lost()}")
        try:
            return op(journalled(self.collection))
        except PyMongoError as exc:
            raise StoreError(f"writing the crawl record to {self.display_uri} failed: {reason(exc)}") from None

    def last(self) -> dict | None:
        runs = self.recent(1)
        return runs[0] if runs else None

    def recent(self, limit: int = 20, before: datetime | None = None) -> list[dict]:
        """The latest runs (started before `before`), newest first. Read a widening window of the startedAt
        index at a time: the embedded server sorts by fetching every document the query selects, and a
        store that ran nightly for years holds thousands of run records."""
        end = before or datetime.now(UTC) + timedelta(days=1)
        span = timedelta(days=2)
        while True:
            query = {"startedAt": {"$gte": end - span, "$lt": end}} if span < MAX_SPAN else {"startedAt": {"$lt": end}}
            runs = list(self.collection.find(query).sort("startedAt", DESCENDING).limit(limit))
            if len(runs) >= limit or span >= MAX_SPAN:
                return runs
            span *= 8
