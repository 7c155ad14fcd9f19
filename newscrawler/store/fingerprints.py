"""Dedup's collections (`fingerprints`, `clusters`): the MongoDB side of dedup's index interface
(newscrawler.dedup.index.DedupIndex), plus the reads `db clusters` and the console need.

`fingerprints` holds one small document per article (by canonical URL): its cluster, body hash, MinHash
signature and LSH band keys. Near-duplicate candidates are found through the band keys in the band index
(store/bands.py: a SQLite file next to the data directory, derived from this collection, which the database's
own multikey index cost 5-6 s of server CPU per 2,400 articles), so the crawler's memory does not grow with
the store.
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
from newscrawler.store.bands import FP_FIELDS, BandIndex

# What a look-up by URL needs back: never the full member lists or anything article-sized.
FP_PROJECTION = dict.fromkeys(FP_FIELDS, 1)
# A flood of candidates (a short text whose band keys all come from a footer every page of a portal prints) is
# cut at this many per key asked.
MAX_CANDIDATES_PER_KEY = 5
IN_CHUNK = 100


class FingerprintRoom:
    def __init__(self, db: Database, bands: BandIndex | None = None):
        """`bands`: the band index (Store.open puts it under the data directory); None gives a private temporary
        one."""
        self.db = db
        self.fingerprints = db["fingerprints"]
        self.clusters = db["clusters"]
        self.bands = bands if bands is not None else BandIndex()

    def ensure_indexes(self) -> None:
        # Only _id: every secondary index costs ~0.04-0.07 ms per entry written on the embedded server; band keys
        # are looked up in the band index (store/bands.py), which replaced the multikey index earlier versions made.
        if "bands" in self.fingerprints.index_information():
            self.fingerprints.drop_index("bands")
        self.clusters.create_index([("updatedAt", DESCENDING)], name="updatedAt")
        self.clusters.create_index([("members.url", ASCENDING)], name="members_url")

    # -- batch look-ups: one round trip each per batch ------------------------------------------------

    def by_urls(self, urls: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        return {d["_id"]: d for d in self.fingerprints.find({"_id": {"$in": wanted}}, FP_PROJECTION)}

    def by_bands(self, key_groups: Iterable[list[int]],
                 max_per_key: int = MAX_CANDIDATES_PER_KEY) -> list[dict[str, Any]]:
        """Fingerprints sharing a band key with any group (one group per article), from the band index; at most
        `max_per_key` x its keys per group, so one article's flood does not crowd out another's candidates."""
        out: dict[str, dict[str, Any]] = {}
        for group in key_groups:
            keys = list(dict.fromkeys(group))
            if keys:
                for d in self.bands.candidates(keys, max_per_key * len(keys)):
                    out.setdefault(d["_id"], d)
        return list(out.values())

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
        # The band index first: what the database holds must be found there (see store/bands.py).
        self.bands.add([*new, *changed])
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

    def add_to_bands(self, urls: Iterable[str]) -> int:
        """Put the stored fingerprints of these canonical URLs in the band index (`db reindex`); how many."""
        wanted = list(dict.fromkeys(urls))
        # Short `$in` lists: the embedded server re-checks each document found against every value asked for.
        return sum(self.bands.add(self.fingerprints.find({"_id": {"$in": wanted[i:i + IN_CHUNK]}}, FP_PROJECTION))
                   for i in range(0, len(wanted), IN_CHUNK))

    def count(self) -> dict[str, int]:
        return {"fingerprints": self.fingerprints.count_documents({}),
                "clusters": self.clusters.count_documents({})}
