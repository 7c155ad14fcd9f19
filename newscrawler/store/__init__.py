"""The store: the one module that talks to MongoDB. Every query, index and bulk write lives here (dedup's
own collections in `store/dedup.py`); the spider, pipelines, CLI and web view call its methods.

The same pymongo code serves the embedded default (a SecantusDB daemon on 127.0.0.1, see server.py) and a
real MongoDB given as MONGO_URI.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pymongo
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from newscrawler import config
from newscrawler.store.server import EmbeddedServer, EmbeddedServerError, ensure_server

T = TypeVar("T")
CONNECT_TIMEOUT_MS = 5000
# An article link that answered 404/410 is not asked for again until this many days have passed.
DEAD_LINK_RETRY_DAYS = 7
# Fields that describe a fetch rather than the article: a change in them is not a new version.
FETCH_FIELDS = {"url", "fetchedAt", "urls", "httpStatus", "crawlRun"}
VERSIONED_FIELDS = ("headline", "articleBody", "datePublished", "dateModified", "authors", "editor", "source")


class StoreError(RuntimeError):
    """MongoDB could not be reached or refused a write; the message never contains a password."""


def redact_uri(uri: str) -> str:
    """The URI with any password replaced by ***, for logs, errors and crawl records."""
    return re.sub(r"(mongodb(?:\+srv)?://[^:/@\s]+):[^@\s]*@", r"\1:***@", uri)


def body_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class UpsertCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    new_urls: list[str] = field(default_factory=list)
    # (site, "new" | "updated" | "unchanged") → count, for the per-portal lines of the run record.
    by_site: Counter[tuple[str, str]] = field(default_factory=Counter)


class Store:
    def __init__(self, client: pymongo.MongoClient, db_name: str, uri: str,
                 server: EmbeddedServer | None = None):
        self.client = client
        self.db = client[db_name]
        self.uri = uri
        self.server = server
        self.articles = self.db["articles"]
        self.crawl_runs = self.db["crawl_runs"]
        self.dead_links = self.db["dead_links"]
        # Blocking pymongo calls made from the crawl run here, off the reactor thread, so fetching goes
        # on while the database answers. One writer thread keeps batches in order; lookups have their own.
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-write")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-read")
        self.dedup = None
        try:
            from newscrawler.store.dedup import DedupIndex
        except ImportError:
            pass
        else:
            self.dedup = DedupIndex(self.db)

    # -- connection ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, uri: str | None = None, data_dir: str | Path | None = None,
             db_name: str | None = None) -> Store:
        """Connect to MONGO_URI (or `uri`), else to the embedded server on the data directory,
        starting it when none runs there. Fails within seconds, naming the URI without its password."""
        uri = uri or config.mongo_uri()
        server = None
        if not uri:
            try:
                server = ensure_server(config.data_dir(data_dir))
            except EmbeddedServerError as exc:
                raise StoreError(str(exc)) from None
            uri = server.uri
        client = pymongo.MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=CONNECT_TIMEOUT_MS,
                                     connectTimeoutMS=CONNECT_TIMEOUT_MS)
        try:
            client.admin.command("ping")
        except PyMongoError as exc:
            client.close()
            if server:
                server.stop()
            raise StoreError(f"cannot reach MongoDB at {redact_uri(uri)}: {_reason(exc)}") from None
        store = cls(client, db_name or config.database_name(), uri, server)
        store.ensure_indexes()
        return store

    async def in_writer(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking store call on the writer thread and await it from the event loop."""
        return await asyncio.wrap_future(self._writer.submit(fn, *args, **kwargs))

    async def in_reader(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self._reader.submit(fn, *args, **kwargs))

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)
        self.client.close()
        if self.server:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def display_uri(self) -> str:
        return redact_uri(self.uri)

    def ensure_indexes(self) -> None:
        self.articles.create_index([("canonicalUrl", ASCENDING)], unique=True, name="canonicalUrl_unique")
        self.articles.create_index([("urls", ASCENDING)], name="urls")
        self.articles.create_index([("site", ASCENDING), ("datePublished", DESCENDING)], name="site_date")
        self.articles.create_index([("datePublished", DESCENDING)], name="date")
        self.articles.create_index([("bodyHash", ASCENDING)], name="bodyHash")
        self.crawl_runs.create_index([("startedAt", DESCENDING)], name="startedAt")
        self.dead_links.create_index([("url", ASCENDING)], unique=True, name="url_unique")
        if self.dedup is not None:
            self.dedup.ensure_indexes()

    # -- articles -----------------------------------------------------------------------------------

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """Which of these canonical URLs are already stored (as an article's URL or one it was reached by)."""
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return set()
        found: set[str] = set()
        # `urls` holds the canonical URL too. One indexed $in, not an $or: SecantusDB answers an $or by
        # scanning the collection (120 ms per listing page at 2,400 articles, measured in the crawl benchmark).
        for doc in self.articles.find({"urls": {"$in": wanted}}, {"urls": 1, "_id": 0}):
            found.update(doc.get("urls", ()))
        cutoff = datetime.now(UTC) - timedelta(days=DEAD_LINK_RETRY_DAYS)
        found.update(d["url"] for d in self.dead_links.find(
            {"url": {"$in": wanted}, "lastTried": {"$gt": cutoff}}, {"url": 1, "_id": 0}))
        return found & set(wanted)

    def record_dead_links(self, links: dict[str, int]) -> None:
        """Remember article links that answered 404/410 (canonical URL → status), so the next runs skip
        them for DEAD_LINK_RETRY_DAYS instead of asking again every night."""
        if not links:
            return
        now = datetime.now(UTC)
        self.dead_links.bulk_write([
            UpdateOne({"url": url}, {"$set": {"status": status, "lastTried": now},
                                     "$setOnInsert": {"firstSeen": now}, "$inc": {"tries": 1}}, upsert=True)
            for url, status in links.items()])

    def upsert_articles(self, items: list[dict[str, Any]], *, final: bool = False) -> UpsertCounts:
        """Store a batch in one bulk write: new articles inserted, known ones updated in place with a
        version recorded when their text changed, unchanged ones only marked as seen again."""
        counts = UpsertCounts()
        if not items:
            return counts
        now = datetime.now(UTC)
        keys = list(dict.fromkeys(it["canonicalUrl"] for it in items))
        projection = {k: 1 for k in VERSIONED_FIELDS} | {"canonicalUrl": 1, "bodyHash": 1, "_id": 0}
        projection.pop("articleBody")
        try:
            existing = {d["canonicalUrl"]: d for d in self.articles.find({"canonicalUrl": {"$in": keys}}, projection)}
        except PyMongoError as exc:
            raise StoreError(f"reading {len(keys)} articles from {self.display_uri} failed: {_reason(exc)}") from None
        ops: list[InsertOne | UpdateOne] = []
        # The same write as an upsert, used if another writer inserted one of our "new" articles meanwhile.
        as_upserts: list[UpdateOne] = []
        for item in items:
            doc = {k: v for k, v in item.items() if not k.startswith("_")}
            doc.setdefault("bodyHash", body_hash(doc.get("articleBody", "")))
            key = doc["canonicalUrl"]
            seen_urls = [u for u in {key, *doc.pop("urls", [])} if u]
            old = existing.get(key)
            if old is None:
                # A plain insert: the look-up above says it is new, and SecantusDB inserts about twice as fast
                # as it upserts: 0.37 vs 1.05 ms per new article, measured on 2,410 replayed articles.
                ops.append(InsertOne({**doc, "urls": seen_urls, "firstSeen": now, "lastSeen": now}))
                as_upserts.append(UpdateOne({"canonicalUrl": key}, {
                    "$set": {**doc, "lastSeen": now}, "$setOnInsert": {"firstSeen": now},
                    "$addToSet": {"urls": {"$each": seen_urls}}}, upsert=True))
                existing[key] = {**doc}
                counts.new += 1
                counts.new_urls.append(key)
                counts.by_site[doc.get("site"), "new"] += 1
                continue
            changed = [f for f in VERSIONED_FIELDS
                       if f != "articleBody" and f in doc and _differs(old.get(f), doc.get(f))]
            if old.get("bodyHash") != doc["bodyHash"]:
                changed.insert(0, "articleBody")
            if changed:
                version = {"time": now, "previousBodyHash": old.get("bodyHash"), "changed": changed}
                update = {"$set": {**doc, "lastSeen": now, "updatedAt": now},
                          "$push": {"versions": version}, "$addToSet": {"urls": {"$each": seen_urls}}}
                counts.updated += 1
                counts.by_site[doc.get("site"), "updated"] += 1
            else:
                fetch_only = {k: v for k, v in doc.items() if k in FETCH_FIELDS}
                update = {"$set": {**fetch_only, "lastSeen": now},
                          "$addToSet": {"urls": {"$each": seen_urls}}}
                counts.unchanged += 1
                counts.by_site[doc.get("site"), "unchanged"] += 1
            existing[key] = {**doc}
            ops.append(UpdateOne({"canonicalUrl": key}, update, upsert=True))
            as_upserts.append(ops[-1])
        coll = self.articles.with_options(write_concern=pymongo.WriteConcern(w=1, j=True)) if final \
            else self.articles
        try:
            try:
                coll.bulk_write(ops, ordered=True)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if not errors or any(e.get("code") != 11000 for e in errors):
                    raise
                # Ordered: everything before the failed insert is written; the rest goes in as upserts.
                coll.bulk_write(as_upserts[errors[0]["index"]:], ordered=True)
        except PyMongoError as exc:
            raise StoreError(f"writing {len(ops)} articles to {self.display_uri} failed: {_reason(exc)}") from None
        return counts

    def find_article(self, canonical_url: str) -> dict | None:
        return self.articles.find_one({"urls": canonical_url})

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
        cursor = self.articles.find(query, projection).sort("datePublished", DESCENDING)
        return list(cursor.limit(limit) if limit else cursor)

    def count_articles(self, query: dict | None = None) -> int:
        return self.articles.count_documents(query or {})

    def iter_articles(self, site: str | None = None, limit: int = 0,
                      projection: dict | None = None) -> Iterable[dict]:
        query = {"site": site} if site else {}
        return self.articles.find(query, projection).sort("datePublished", DESCENDING).limit(limit)

    # -- crawl runs ---------------------------------------------------------------------------------

    def start_run(self, record: dict[str, Any]) -> ObjectId:
        doc = {"startedAt": datetime.now(UTC), "status": "running", **record}
        return self._write_run(lambda c: c.insert_one(doc).inserted_id)

    def finish_run(self, run_id: ObjectId, fields: dict[str, Any]) -> None:
        doc = {"endedAt": datetime.now(UTC), **fields}
        self._write_run(lambda c: c.update_one({"_id": run_id}, {"$set": doc}))

    def _write_run(self, op):  # run records are the audit trail: journalled, like the last batch
        try:
            return op(self.crawl_runs.with_options(write_concern=pymongo.WriteConcern(w=1, j=True)))
        except PyMongoError as exc:
            raise StoreError(f"writing the crawl record to {self.display_uri} failed: {_reason(exc)}") from None

    def last_run(self) -> dict | None:
        return self.crawl_runs.find_one(sort=[("startedAt", DESCENDING)])

    def runs(self, limit: int = 20) -> list[dict]:
        return list(self.crawl_runs.find().sort("startedAt", DESCENDING).limit(limit))

    # -- inspection ---------------------------------------------------------------------------------

    def stats(self, timezone: str = "Asia/Shanghai", days: int = 30) -> dict[str, Any]:
        """Article total, counts per portal and per publication day (in the portals' zone), last run."""
        per_site = {d["_id"]: d["n"] for d in self.articles.aggregate(
            [{"$group": {"_id": "$site", "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}])}
        per_day = [(d["_id"], d["n"]) for d in self.articles.aggregate([
            {"$match": {"datePublished": {"$type": "date"}}},
            {"$group": {"_id": {"$dateToString": {"format": "%Y-%m-%d", "date": "$datePublished",
                                                  "timezone": timezone}}, "n": {"$sum": 1}}},
            {"$sort": {"_id": -1}}, {"$limit": days}])]
        return {"articles": self.articles.count_documents({}), "perSite": per_site,
                "perDay": dict(per_day), "lastRun": self.last_run()}


def for_crawler(crawler) -> Store:
    """The one Store of a Scrapy crawl, shared by the spider, pipelines and extensions; closed (and the
    embedded server it started, stopped) when the engine stops."""
    store = getattr(crawler, "_newscrawler_store", None)
    if store is None:
        from scrapy import signals

        settings = crawler.settings
        store = Store.open(uri=settings.get("MONGO_URI") or None,
                           data_dir=settings.get("NEWSCRAWLER_DATA_DIR") or None,
                           db_name=settings.get("MONGO_DATABASE") or None)
        crawler._newscrawler_store = store
        crawler.signals.connect(store.close, signal=signals.engine_stopped)
    return store


def _reason(exc: Exception) -> str:
    """pymongo's message without the topology dump that follows it, and never with a password."""
    return redact_uri(str(exc).split(", Timeout:")[0].split(" (configured timeouts")[0])


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return abs((a - b).total_seconds()) >= 1
    return a != b


__all__ = ["Store", "StoreError", "UpsertCounts", "for_crawler", "redact_uri", "body_hash"]
