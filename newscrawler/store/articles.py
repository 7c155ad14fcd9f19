"""The `articles` collection: one document per canonical URL, its indexes, writes and reads.

What a document holds is the article schema's stored fields (newscrawler.schema); the store adds
`firstSeen`, `lastSeen`, `updatedAt` and `versions`. The versioning policy (what counts as a new version)
is `changes()`, a plain function; `ArticleRoom.write()` turns a batch into one bulk write.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, InsertOne, UpdateOne
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, PyMongoError

from newscrawler import schema
from newscrawler.store import limits
from newscrawler.store.connection import StoreError, journalled, reason

# Fields the store keeps itself; an item's values for them (empty defaults) are never written.
STORE_MANAGED = frozenset(schema.fields_of(stage="store"))
# Dedup's fields are left alone when dedup could not decide (None): a re-crawl keeps the old decision.
DEDUP_FIELDS = frozenset(schema.fields_of(stage="dedup"))
REFRESHED = frozenset(schema.FETCH) | {"url"}


@dataclass
class WriteCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_urls: list[str] = field(default_factory=list)
    # (site, "new" | "updated" | "unchanged") → count, for the per-portal lines of the run record.
    by_site: Counter[tuple[str, str]] = field(default_factory=Counter)
    # canonical URL → the fields that changed (a re-crawl: the versioned ones; a reprocess: every stored one).
    changed: dict[str, list[str]] = field(default_factory=dict)
    # canonical URLs that got a version.
    versioned: list[str] = field(default_factory=list)

    def add(self, site: str | None, outcome: str, url: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        self.by_site[site, outcome] += 1
        if outcome == "new":
            self.new_urls.append(url)


def changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The versioned fields a re-crawl changed (the body compared by its hash): empty means the same
    version, only seen again."""
    changed = [f for f in schema.VERSIONED if f != "articleBody" and f in new and _differs(old.get(f), new.get(f))]
    if old.get("bodyHash") != new.get("bodyHash"):
        changed.insert(0, "articleBody")
    return changed


def differing(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Every stored field whose value differs (the fetch fields aside: they describe a fetch, not the article)."""
    return [f for f in new if f not in REFRESHED and _differs(old.get(f), new[f])]


def to_document(item: Any) -> dict[str, Any]:
    """What the store writes for an item: its stored fields, less what the store keeps itself."""
    doc = {k: v for k, v in schema.document(item).items()
           if k not in STORE_MANAGED and not (k in DEDUP_FIELDS and v is None)}
    if not doc.get("bodyHash"):
        from newscrawler.normalise.article import body_hash

        doc["bodyHash"] = body_hash(doc.get("articleBody") or "")
    limits.bound(doc)  # the last guard: never over MongoDB's document limit (the pipeline cuts earlier)
    return doc


class ArticleRoom:
    def __init__(self, collection: Collection, display_uri: str):
        self.collection = collection
        self.display_uri = display_uri

    def ensure_indexes(self) -> None:
        c = self.collection
        c.create_index([("canonicalUrl", ASCENDING)], unique=True, name="canonicalUrl_unique")
        c.create_index([("urls", ASCENDING)], name="urls")
        c.create_index([("site", ASCENDING), ("datePublished", DESCENDING)], name="site_date")
        c.create_index([("datePublished", DESCENDING)], name="date")
        c.create_index([("bodyHash", ASCENDING)], name="bodyHash")

    # -- writes -------------------------------------------------------------------------------------

    def write(self, items: list[Any], *, final: bool = False, refetched: bool = True) -> WriteCounts:
        """Store a batch in one bulk write: new articles inserted, known ones updated in place with a
        version recorded when their text changed, unchanged ones only marked as seen again.

        `refetched=False` (reprocess: the items were made again from archived pages): a known article gets
        every stored field that differs (a version when a versioned one does) and nothing else — not lastSeen,
        not the fetch fields — so writing the same items twice changes nothing."""
        counts = WriteCounts()
        if not items:
            return counts
        now = datetime.now(UTC)
        docs = [to_document(it) for it in items]
        keys = list(dict.fromkeys(d["canonicalUrl"] for d in docs))
        projection = {k: 1 for k in schema.VERSIONED if k != "articleBody"} | {"canonicalUrl": 1, "bodyHash": 1,
                                                                                 "_id": 0}
        if not refetched:
            projection = {"_id": 0, "versions": 0}  # every field, to say which ones changed
        try:
            existing = {d["canonicalUrl"]: d for d in self.collection.find({"canonicalUrl": {"$in": keys}},
                                                                          projection)}
        except PyMongoError as exc:
            raise StoreError(f"reading {len(keys)} articles from {self.display_uri} failed: {reason(exc)}") from None
        ops: list[InsertOne | UpdateOne] = []
        # The same writes as upserts, used if another writer inserted one of our "new" articles meanwhile.
        as_upserts: list[UpdateOne] = []
        for doc in docs:
            key = doc["canonicalUrl"]
            seen_urls = [u for u in dict.fromkeys([key, *doc.pop("urls", [])]) if u]
            old = existing.get(key)
            existing[key] = doc
            if old is None:
                last_seen = now if refetched else doc.get("fetchedAt") or now
                # A plain insert: the look-up says it is new, and SecantusDB inserts about twice as fast as it
                # upserts (0.37 vs 1.05 ms per new article, measured on 2,410 replayed articles).
                ops.append(InsertOne({**doc, "urls": seen_urls, "firstSeen": now, "lastSeen": last_seen}))
                as_upserts.append(UpdateOne({"canonicalUrl": key}, {
                    "$set": {**doc, "lastSeen": last_seen}, "$setOnInsert": {"firstSeen": now},
                    "$addToSet": {"urls": {"$each": seen_urls}}}, upsert=True))
                counts.add(doc.get("site"), "new", key)
                continue
            changed = changes(old, doc)
            if changed:
                counts.versioned.append(key)
            if not refetched:
                fields = differing(old, doc)
                counts.add(doc.get("site"), "updated" if fields else "unchanged", key)
                if fields:
                    counts.changed[key] = fields
                elif not set(seen_urls) - set(old.get("urls") or ()):
                    continue  # nothing to write
                update = {"$addToSet": {"urls": {"$each": seen_urls}}}
                if fields:
                    update["$set"] = {f: doc[f] for f in fields}
                if changed:
                    update.setdefault("$set", {})["updatedAt"] = now
                    update["$push"] = {"versions": {"time": now, "previousBodyHash": old.get("bodyHash"),
                                                    "changed": changed, "reprocessed": True}}
            elif changed:
                counts.changed[key] = changed
                version = {"time": now, "previousBodyHash": old.get("bodyHash"), "changed": changed}
                update = {"$set": {**doc, "lastSeen": now, "updatedAt": now},
                          "$push": {"versions": version}, "$addToSet": {"urls": {"$each": seen_urls}}}
                counts.add(doc.get("site"), "updated", key)
            else:
                refreshed = {k: v for k, v in doc.items() if k in REFRESHED}
                update = {"$set": {**refreshed, "lastSeen": now}, "$addToSet": {"urls": {"$each": seen_urls}}}
                counts.add(doc.get("site"), "unchanged", key)
            ops.append(UpdateOne({"canonicalUrl": key}, update, upsert=True))
            as_upserts.append(ops[-1])
        self._bulk_write(ops, as_upserts, final)
        return counts

    def _bulk_write(self, ops: list, as_upserts: list, final: bool) -> None:
        """One ordered bulk write; if another writer inserted one of our new articles after our look-up
        (duplicate key), everything before it is written and the rest goes in as upserts."""
        if not ops:  # a reprocess batch that changed nothing
            return
        coll = journalled(self.collection) if final else self.collection
        try:
            try:
                coll.bulk_write(ops, ordered=True)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if not errors or any(e.get("code") != 11000 for e in errors):
                    raise
                coll.bulk_write(as_upserts[errors[0]["index"]:], ordered=True)
        except PyMongoError as exc:
            raise StoreError(f"writing {len(ops)} articles to {self.display_uri} failed: {reason(exc)}") from None

    # -- reads --------------------------------------------------------------------------------------

    def known(self, urls: Iterable[str]) -> set[str]:
        """Which of these canonical URLs are stored, as an article's URL or one it was reached by."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return set()
        found: set[str] = set()
        # `urls` holds the canonical URL too. One indexed $in, not an $or: SecantusDB answers an $or by
        # scanning the collection (120 ms per listing page at 2,400 articles, measured in the crawl benchmark).
        for doc in self.collection.find({"urls": {"$in": wanted}}, {"urls": 1, "_id": 0}):
            found.update(doc.get("urls", ()))
        return found & set(wanted)

    def fetched_at(self, urls: Iterable[str]) -> dict[str, datetime]:
        """When the article stored under each of these URLs (its canonical one or one it was reached by) was
        last fetched; URLs of no stored article are left out."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        out: dict[str, datetime] = {}
        for doc in self.collection.find({"urls": {"$in": wanted}}, {"urls": 1, "fetchedAt": 1, "_id": 0}):
            if isinstance(doc.get("fetchedAt"), datetime):
                out.update(dict.fromkeys(set(doc.get("urls", ())) & set(wanted), doc["fetchedAt"]))
        return out

    def find(self, canonical_url: str) -> dict | None:
        return self.collection.find_one({"urls": canonical_url})

    def search(self, *, site: str | None = None, since: datetime | None = None, until: datetime | None = None,
               source: str | None = None, text: str | list[str] | None = None, cluster: Any = None, limit: int = 20,
               projection: dict | None = None) -> list[dict]:
        """Articles matching every given filter, newest first. `text` is a plain substring of the headline
        or body (several: any of them), matched in the text as published and in the Simplified rendering of
        Traditional pages; `source` matches the canonical outlet name."""
        query: dict[str, Any] = {}
        if site:
            query["site"] = site
        if since or until:
            query["datePublished"] = {k: v for k, v in (("$gte", since), ("$lt", until)) if v}
        if source:
            query["source"] = source
        if cluster is not None:
            query["cluster"] = cluster
        if text:
            # The string form of $regex: SecantusDB ignores compiled patterns (notes/mongodb.md); no text
            # index exists there, and MongoDB's has no Chinese tokenizer either, so this scans.
            pattern = {"$regex": "|".join(re.escape(t) for t in ([text] if isinstance(text, str) else text))}
            query["$or"] = [{"headline": pattern}, {"articleBody": pattern}, {"headlineSimplified": pattern},
                            {"articleBodySimplified": pattern}]
        cursor = self.collection.find(query, projection).sort("datePublished", DESCENDING)
        return list(cursor.limit(limit) if limit else cursor)

    def count(self, query: dict | None = None) -> int:
        return self.collection.count_documents(query or {})

    def written_between(self, start: datetime, end: datetime, sites: Iterable[str] | None = None) -> dict[str, int]:
        """How many articles were first stored (`new`) and changed (`updated`) in [start, end), for a run that
        died without saying (rare: a scan, no index needed)."""
        scope = {"site": {"$in": list(sites)}} if sites else {}
        return {"new": self.count({**scope, "firstSeen": {"$gte": start, "$lt": end}}),
                "updated": self.count({**scope, "updatedAt": {"$gte": start, "$lt": end}})}

    def newest(self, site: str | None = None, limit: int = 0, projection: dict | None = None) -> Iterable[dict]:
        query = {"site": site} if site else {}
        return self.collection.find(query, projection).sort("datePublished", DESCENDING).limit(limit)

    def per_site(self) -> dict[str, int]:
        return {d["_id"]: d["n"] for d in self.collection.aggregate(
            [{"$group": {"_id": "$site", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}])}

    def per_day(self, timezone: str = "Asia/Shanghai", days: int = 30) -> dict[str, int]:
        """Articles per publication day in the portals' zone, latest first."""
        return {d["_id"]: d["n"] for d in self.collection.aggregate([
            {"$match": {"datePublished": {"$type": "date"}}},
            {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$datePublished",
                                                  "timezone": timezone}}, "n": {"$sum": 1}}},
            {"$sort": {"_id": -1}}, {"$limit": days}])}


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs((a - b).total_seconds()) >= 1
    return a != b
