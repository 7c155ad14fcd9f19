"""Portal health: `portal_health` (one document per portal: its state, since when, its last good run, the
last alert) and `portal_runs` (one document per portal and run: the numbers the monitors judged, their
verdict; a portal's history is its recent healthy runs of the same schedule)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import PyMongoError

from newscrawler.store.connection import StoreError, journalled, reason


class HealthRoom:
    def __init__(self, db: Database, display_uri: str):
        self.states: Collection = db["portal_health"]
        self.runs: Collection = db["portal_runs"]
        self.display_uri = display_uri

    def ensure_indexes(self) -> None:
        self.runs.create_index([("site", ASCENDING), ("schedule", ASCENDING), ("at", DESCENDING)],
                               name="site_schedule_at")

    def _fail(self, what: str, exc: PyMongoError) -> StoreError:
        return StoreError(f"{what} at {self.display_uri} failed: {reason(exc)}")

    def history(self, site: str, schedule: str, limit: int) -> list[dict[str, Any]]:
        """The numbers of the portal's last `limit` healthy, judged runs of this schedule, newest first."""
        try:
            docs = self.runs.find({"site": site, "schedule": schedule, "judged": True, "status": "ok"},
                                  {"metrics": 1, "_id": 0}).sort("at", DESCENDING).limit(limit)
            return [d["metrics"] for d in docs]
        except PyMongoError as exc:
            raise self._fail(f"reading the history of {site}", exc) from None

    def record_runs(self, docs: Iterable[dict[str, Any]]) -> None:
        docs = list(docs)
        if not docs:
            return
        try:
            journalled(self.runs).insert_many(docs)
        except PyMongoError as exc:
            raise self._fail("recording the portals' health", exc) from None

    def state(self, site: str) -> dict[str, Any] | None:
        try:
            return self.states.find_one({"_id": site})
        except PyMongoError as exc:
            raise self._fail(f"reading the health of {site}", exc) from None

    def all_states(self) -> dict[str, dict[str, Any]]:
        try:
            return {d["_id"]: d for d in self.states.find()}
        except PyMongoError as exc:
            raise self._fail("reading the portals' health", exc) from None

    def save_state(self, site: str, fields: dict[str, Any]) -> None:
        try:
            journalled(self.states).update_one({"_id": site}, {"$set": fields}, upsert=True)
        except PyMongoError as exc:
            raise self._fail(f"writing the health of {site}", exc) from None
