"""The `articles` collection: one document per canonical URL, its indexes, writes and reads.

What a document holds is the article schema's stored fields (newscrawler.schema); the store adds
`firstSeen`, `lastSeen`, `updatedAt` and `versions`. The versioning policy (what counts as a new version)
is `changes()`, a plain function; `ArticleRoom.write()` turns a batch into one bulk write, then brings the
per-day counters (stats.py) and the search index (search.py) up to date with what it wrote. Reading lists of
articles is listing.py's job; this room answers look-ups by URL.
"""

from __future__ import annotations

import logging
import sqlite3
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
from newscrawler.store.search import SearchIndex
from newscrawler.store.stats import COVERAGE, Facts, StatsRoom, facts_of

logger = logging.getLogger(__name__)

# Fields the store keeps itself; an item's values for them (empty defaults) are never written.
STORE_MANAGED = frozenset(schema.fields_of(stage="store"))
# Dedup's fields are left alone when dedup could not decide (None): a re-crawl keeps the old decision.
DEDUP_FIELDS = frozenset(schema.fields_of(stage="dedup"))
REFRESHED = frozenset(schema.FETCH) | {"url"}
# What the write path reads of a stored article: enough to decide on a new version and to move its counts.
EXISTING_FIELDS = {**{k: 1 for k in schema.VERSIONED if k != "articleBody"}, **{k: 1 for k in COVERAGE},
                   "canonicalUrl": 1, "bodyHash": 1, "site": 1, "script": 1, "_id": 0}


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
    def __init__(self, collection: Collection, display_uri: str, stats: StatsRoom, search: SearchIndex):
        self.collection = collection
        self.display_uri = display_uri
        self.stats = stats
        self.search = search

    def ensure_indexes(self) -> None:
        c = self.collection
        c.create_index([("canonicalUrl", ASCENDING)], unique=True, name="canonicalUrl_unique")
        c.create_index([("urls", ASCENDING)], name="urls")
        c.create_index([("site", ASCENDING), ("datePublished", DESCENDING)], name="site_date")
        c.create_index([("datePublished", DESCENDING)], name="date")
        # No query reads articles by bodyHash (dedup finds copies through its fingerprints' band keys); the index
        # earlier versions made cost the embedded server an index entry per article written.
        if "bodyHash" in c.index_information():
            c.drop_index("bodyHash")

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
        projection = EXISTING_FIELDS
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
        # Counted in and out of the per-day counters; (re)indexed for search.
        counted_in: list[Facts] = []
        counted_out: list[Facts] = []
        to_index: dict[str, dict[str, Any]] = {}
        for doc in docs:
            key = doc["canonicalUrl"]
            seen_urls = [u for u in dict.fromkeys([key, *doc.pop("urls", [])]) if u]
            old = existing.get(key)
            existing[key] = doc
            if old is None:
                counted_in.append(facts_of(doc))
                to_index[key] = doc
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
                    self._moved(old, {**old, **update["$set"]}, counted_in, counted_out, to_index, existing)
                if changed:
                    update.setdefault("$set", {})["updatedAt"] = now
                    update["$push"] = {"versions": {"time": now, "previousBodyHash": old.get("bodyHash"),
                                                    "changed": changed, "reprocessed": True}}
            elif changed:
                counts.changed[key] = changed
                self._moved(old, {**old, **doc}, counted_in, counted_out, to_index, existing)
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
        try:
            self.stats.apply(counted_in, counted_out, final=final)
        except PyMongoError as exc:
            raise StoreError(f"counting {len(counted_in)} articles in {self.display_uri} failed after they were "
                             f"written: {reason(exc)}; `newscrawler db reindex` recounts") from None
        self._index(list(to_index.values()))
        return counts

    @staticmethod
    def _moved(old: dict[str, Any], now_stored: dict[str, Any], counted_in: list[Facts], counted_out: list[Facts],
               to_index: dict[str, dict[str, Any]], existing: dict[str, dict[str, Any]]) -> None:
        """A known article changed: its counts move (it may now be on another day, or carry other fields)
        and it is indexed again."""
        counted_out.append(facts_of(old))
        counted_in.append(facts_of(now_stored))
        existing[now_stored["canonicalUrl"]] = now_stored
        to_index[now_stored["canonicalUrl"]] = now_stored

    def _index(self, docs: list[dict[str, Any]]) -> None:
        """The search index is derived data: when it cannot be written the articles stay stored, the index
        is marked incomplete (the console and `db find` say so) and `db reindex` rebuilds it."""
        if not docs:
            return
        try:
            self.search.write(docs)
        except (sqlite3.Error, RuntimeError) as exc:
            logger.error("search index %s not updated for %d articles: %s; run `newscrawler db reindex`",
                         self.search.path, len(docs), exc)
            try:
                self.search.mark_incomplete()
            except sqlite3.Error:
                pass

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

    def find(self, canonical_url: str, projection: dict | None = None) -> dict | None:
        """The article stored under this canonical URL or reached by it."""
        return self.collection.find_one({"urls": canonical_url}, projection)

    def find_any(self, spellings: list[str], projection: dict | None = None) -> dict | None:
        """The article reached by any of these canonical URLs (one indexed $in, not an $or)."""
        wanted = list(dict.fromkeys(s for s in spellings if s))
        if not wanted:
            return None
        for doc in self.collection.find({"urls": {"$in": wanted}}, projection).limit(1):
            return doc
        return None

    def by_urls(self, canonical_urls: list[str], projection: dict | None = None) -> list[dict]:
        """Stored articles by canonical URL, in the order asked (missing ones left out)."""
        wanted = list(dict.fromkeys(canonical_urls))
        if not wanted:
            return []
        fields = {**projection, "canonicalUrl": 1} if projection else None
        found = {d["canonicalUrl"]: d for d in self.collection.find({"canonicalUrl": {"$in": wanted}}, fields)}
        return [found[u] for u in wanted if u in found]

    def count(self, query: dict | None = None) -> int:
        """Counts by reading every document on the embedded server: for tests and one-off checks. What a
        person or a page asks for often comes from the counters (store.listing, store.stats)."""
        return self.collection.count_documents(query or {})

    def written_between(self, start: datetime, end: datetime, sites: Iterable[str] | None = None) -> dict[str, int]:
        """How many articles were first stored (`new`) and changed (`updated`) in [start, end), for a run that
        died without saying (rare: a scan, no index needed)."""
        scope = {"site": {"$in": list(sites)}} if sites else {}
        return {"new": self.count({**scope, "firstSeen": {"$gte": start, "$lt": end}}),
                "updated": self.count({**scope, "updatedAt": {"$gte": start, "$lt": end}})}


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs((a - b).total_seconds()) >= 1
    return a != b
