"""Dedup's collections (`fingerprints`, `clusters`): the MongoDB side of dedup's index interface
(newscrawler.dedup.index.DedupIndex), plus the reads `db clusters` and the console need.

`fingerprints` holds one small document per article (by canonical URL): its cluster, body hash, MinHash
signature and LSH band keys. The band keys sit in a multikey index, so near-duplicate candidates are
found by the database with one `$in` per batch and the crawler's memory does not grow with the store.
`clusters` holds one document per story that appeared more than once: its canonical article and members.

SecantusDB notes (see ../shared/notes/mongodb.md): only plain values and `$in` lists of plain values are
used on indexed fields (a compiled regex there matches nothing), and cluster members are read in Python,
never through `"$members.url"` aggregation paths (they come back null).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING, ReplaceOne, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from newscrawler.dedup.index import cluster_view

# What a candidate lookup needs back: never the full member lists or anything article-sized.
FP_PROJECTION = {"cluster": 1, "bodyHash": 1, "bands": 1, "sig": 1, "nums": 1, "site": 1, "source": 1,
                 "firstSeen": 1, "published": 1, "original": 1, "dedup": 1, "duplicateOf": 1}


BAND_CHUNK_KEYS = 80
MAX_CANDIDATES_PER_KEY = 5


class FingerprintRoom:
    def __init__(self, db: Database):
        self.db = db
        self.fingerprints = db["fingerprints"]
        self.clusters = db["clusters"]

    def ensure_indexes(self) -> None:
        # Only _id and the band keys: every secondary index costs ~0.04 ms per article written on the
        # embedded server, and exact copies are found through the band keys (see dedup/engine.py).
        self.fingerprints.create_index([("bands", ASCENDING)], name="bands")
        self.clusters.create_index([("updatedAt", DESCENDING)], name="updatedAt")
        self.clusters.create_index([("members.url", ASCENDING)], name="members_url")

    # -- batch look-ups: one round trip each per batch ------------------------------------------------

    def by_urls(self, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        return {d["_id"]: d for d in self.fingerprints.find({"_id": {"$in": wanted}}, FP_PROJECTION)}

    def by_bands(self, key_groups: Iterable[list[int]], chunk_keys: int = BAND_CHUNK_KEYS,
                 max_per_key: int = MAX_CANDIDATES_PER_KEY) -> list[dict[str, Any]]:
        """Fingerprints sharing a band key with any group (one group per article).

        Not one `$in` for the whole batch: the embedded server re-checks every fetched document against
        the whole `$in` list, so a query costs about (keys x hits); measured per query ~0.5 ms + 0.015 ms
        per key + (0.015 ms x keys) per hit. Groups are packed into queries of about `chunk_keys` keys,
        which keeps both the per-query and the per-hit cost small. A `limit` bounds a flood of hits (a
        short text whose band keys all come from a footer every page of a portal prints)."""
        out: dict[str, dict[str, Any]] = {}
        chunk: list[int] = []
        for group in key_groups:
            chunk.extend(group)
            if len(chunk) >= chunk_keys:
                self._band_query(chunk, max_per_key, out)
                chunk = []
        if chunk:
            self._band_query(chunk, max_per_key, out)
        return list(out.values())

    def _band_query(self, keys: list[int], max_per_key: int, out: dict[str, dict[str, Any]]) -> None:
        wanted = list(dict.fromkeys(keys))
        for d in self.fingerprints.find({"bands": {"$in": wanted}}, FP_PROJECTION).limit(max_per_key * len(wanted)):
            out[d["_id"]] = d

    def cluster_canonicals(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        return {d["_id"]: d["canonical"]
                for d in self.clusters.find({"_id": {"$in": wanted}}, {"canonical": 1}) if d.get("canonical")}

    # -- batch writes ---------------------------------------------------------------------------------

    def write(self, new: list[dict[str, Any]], changed: list[dict[str, Any]], joins: list[dict[str, Any]],
              *, final: bool = False) -> None:
        """Insert new fingerprints, replace changed ones and add members to clusters, one bulk write each.

        A join is {"cluster", "members": [member docs], "canonical": member doc, "headline"}; members are
        added with $addToSet, so writing the same join twice (a re-run) changes nothing."""
        wc = pymongo.WriteConcern(w=1, j=True) if final else None
        fps = self.fingerprints.with_options(write_concern=wc)
        if new:
            # insert_many is ~2x an upsert on the embedded server; a URL another process stored meanwhile
            # (duplicate key) is replaced instead.
            try:
                fps.insert_many(new, ordered=False)
            except BulkWriteError as exc:
                raced = {e["op"]["_id"] for e in exc.details.get("writeErrors", []) if e.get("code") == 11000}
                if len(raced) != len(exc.details.get("writeErrors", [])):
                    raise
                changed = changed + [fp for fp in new if fp["_id"] in raced]
        if changed:
            fps.bulk_write([ReplaceOne({"_id": fp["_id"]}, fp, upsert=True) for fp in changed], ordered=True)
        if joins:
            now = datetime.now(UTC)
            ops = []
            for j in joins:
                update: dict[str, Any] = {
                    "$addToSet": {"members": {"$each": j["members"]}},
                    "$set": {"canonical": j["canonical"], "updatedAt": now},
                    "$setOnInsert": {"createdAt": now},
                }
                if j.get("headline"):
                    update["$setOnInsert"]["headline"] = j["headline"]
                ops.append(UpdateOne({"_id": j["cluster"]}, update, upsert=True))
            self.clusters.with_options(write_concern=wc).bulk_write(ops, ordered=True)

    # -- inspection -----------------------------------------------------------------------------------

    def iter_clusters(self, limit: int = 0, min_size: int = 2) -> Iterator[dict[str, Any]]:
        """Story clusters, most recently grown first, each with its canonical article and member URLs."""
        cursor = self.clusters.find({}).sort("updatedAt", DESCENDING)
        if limit:
            cursor = cursor.limit(limit)
        for doc in cursor:
            view = cluster_view(doc)
            if view["size"] >= min_size:
                yield view

    def cluster(self, cluster_id: str) -> dict[str, Any] | None:
        """One story cluster as `cluster_view` shows it, or None when the story was seen only once."""
        doc = self.clusters.find_one({"_id": cluster_id})
        return cluster_view(doc) if doc else None

    def recent_clusters(self, since: datetime, until: datetime, at_most: int = 600
                        ) -> tuple[list[dict[str, Any]], datetime]:
        """Clusters that grew in [since, until), newest growth first, read through the updatedAt index a widening
        window at a time from `until` back, stopping once `at_most` are read (the embedded server fetches every
        document a query selects). Returns them and how far back the windows reached (`since` when all)."""
        out: list[dict[str, Any]] = []
        end, span = until, timedelta(days=1)
        while end > since and len(out) < at_most:
            start = max(end - span, since)
            out += [cluster_view(d) for d in self.clusters.find({"updatedAt": {"$gte": start, "$lt": end}})]
            end, span = start, span * 2
        return out, end

    def cluster_of(self, url: str) -> str | None:
        doc = self.fingerprints.find_one({"_id": url}, {"cluster": 1})
        return doc["cluster"] if doc else None

    def count(self) -> dict[str, int]:
        return {"fingerprints": self.fingerprints.count_documents({}),
                "clusters": self.clusters.count_documents({})}
