"""Dedup's collections: every query and index deduplication needs, and nothing else.

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
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING, ReplaceOne, UpdateOne
from pymongo.database import Database

# What a candidate lookup needs back: never the full member lists or anything article-sized.
FP_PROJECTION = {"cluster": 1, "bodyHash": 1, "bands": 1, "sig": 1, "nums": 1, "site": 1, "source": 1,
                 "firstSeen": 1, "published": 1, "original": 1, "dedup": 1, "duplicateOf": 1}


class DedupIndex:
    def __init__(self, db: Database):
        self.db = db
        self.fingerprints = db["fingerprints"]
        self.clusters = db["clusters"]

    def ensure_indexes(self) -> None:
        self.fingerprints.create_index([("bodyHash", ASCENDING)], name="bodyHash")
        self.fingerprints.create_index([("bands", ASCENDING)], name="bands")
        self.fingerprints.create_index([("cluster", ASCENDING)], name="cluster")
        self.clusters.create_index([("updatedAt", DESCENDING)], name="updatedAt")
        self.clusters.create_index([("members.url", ASCENDING)], name="members_url")

    # -- batch look-ups: one round trip each per batch ------------------------------------------------

    def by_urls(self, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        return {d["_id"]: d for d in self.fingerprints.find({"_id": {"$in": wanted}}, FP_PROJECTION)}

    def by_hashes(self, hashes: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        wanted = list(dict.fromkeys(hashes))
        out: dict[str, list[dict[str, Any]]] = {}
        if not wanted:
            return out
        for d in self.fingerprints.find({"bodyHash": {"$in": wanted}}, FP_PROJECTION):
            out.setdefault(d["bodyHash"], []).append(d)
        return out

    def by_bands(self, keys: Iterable[int]) -> list[dict[str, Any]]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return []
        return list(self.fingerprints.find({"bands": {"$in": wanted}}, FP_PROJECTION))

    def cluster_canonicals(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        return {d["_id"]: d["canonical"]
                for d in self.clusters.find({"_id": {"$in": wanted}}, {"canonical": 1}) if d.get("canonical")}

    # -- batch writes ---------------------------------------------------------------------------------

    def write(self, fingerprints: list[dict[str, Any]], joins: list[dict[str, Any]],
              *, final: bool = False) -> None:
        """Store new or changed fingerprints and add members to clusters, one bulk write per collection.

        A join is {"cluster", "members": [member docs], "canonical": member doc, "headline"}; members are
        added with $addToSet, so writing the same join twice (a re-run) changes nothing."""
        wc = pymongo.WriteConcern(w=1, j=True) if final else None
        if fingerprints:
            ops = [ReplaceOne({"_id": fp["_id"]}, fp, upsert=True) for fp in fingerprints]
            self.fingerprints.with_options(write_concern=wc).bulk_write(ops, ordered=True)
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
            members = sorted(doc.get("members", []), key=lambda m: (m.get("firstSeen") or datetime.min.replace(
                tzinfo=UTC), m.get("url", "")))
            if len(members) < min_size:
                continue
            yield {"cluster": doc["_id"], "canonical": (doc.get("canonical") or {}).get("url"),
                   "headline": doc.get("headline"), "size": len(members),
                   "urls": [m["url"] for m in members], "members": members,
                   "createdAt": doc.get("createdAt"), "updatedAt": doc.get("updatedAt")}

    def cluster_of(self, url: str) -> str | None:
        doc = self.fingerprints.find_one({"_id": url}, {"cluster": 1})
        return doc["cluster"] if doc else None

    def count(self) -> dict[str, int]:
        return {"fingerprints": self.fingerprints.count_documents({}),
                "clusters": self.clusters.count_documents({})}
