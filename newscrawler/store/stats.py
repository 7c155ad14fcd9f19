"""Counts kept as articles are written (`daily_stats`, `monthly_stats`): articles per publication day, hour,
script and portal, and how many carry each field — so totals, per-day tables, charts, field coverage and the
article list's page positions never count the articles themselves.

On the embedded server a count is a scan: `count_documents` reads every document (~11 s and over 1 GB of
server memory at 100,000 articles) and `estimated_document_count` is one too (2.2 s at 100k, 15 s at 700k;
../shared/notes/mongodb.md). Here one write batch adds a few `$inc` upserts (one per publication day and
portal it touches, and one per month), and reading them touches a few hundred small documents.

Days and hours are in the display zone (newscrawler.store.filters.DISPLAY_ZONE). Articles without a
publication date count under the day and month `undated`, which sorts after every date.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from newscrawler import schema
from newscrawler.store.connection import journalled
from newscrawler.store.filters import DISPLAY_ZONE

UNDATED = "undated"
# The counters of all portals together, kept next to each portal's own: the unfiltered list and the totals
# read one document per month (or day) instead of one per portal.
ALL = "*"
# The fields whose coverage the portals page charts: what extraction fills, apart from the two every stored
# article has (its URL and body), plus whether its date is trusted.
COVERAGE = tuple(f for f in schema.fields_of(stage="extract", stored=True, exported=True)
                 if f not in ("canonicalUrl", "articleBody")) + ("dateTrusted",)


@dataclass(frozen=True)
class Facts:
    """What the counters record of one article."""

    day: str
    hour: str | None
    site: str
    script: str
    present: tuple[str, ...]

    @property
    def month(self) -> str:
        return self.day[:7] if self.day != UNDATED else UNDATED


def facts_of(doc: dict[str, Any]) -> Facts:
    published = doc.get("datePublished")
    if isinstance(published, datetime):
        local = published.astimezone(DISPLAY_ZONE)
        day, hour = local.strftime("%Y-%m-%d"), f"{local.hour:02d}"
    else:
        day, hour = UNDATED, None
    present = tuple(f for f in COVERAGE if doc.get(f) not in (None, "", [], False))
    return Facts(day=day, hour=hour, site=doc.get("site") or "unknown", script=doc.get("script") or "none",
                 present=present)


class Tally:
    """Increments per (day, portal) and (month, portal), as `$inc` paths."""

    def __init__(self) -> None:
        self.daily: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.monthly: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, facts: Iterable[Facts], sign: int = 1) -> Tally:
        for f in facts:
            for site in (f.site, ALL):
                for bucket in (self.daily[f.day, site], self.monthly[f.month, site]):
                    bucket["n"] += sign
                    bucket[f"scripts.{f.script}"] += sign
                    for name in f.present:
                        bucket[f"fields.{name}"] += sign
                if f.hour is not None:
                    self.daily[f.day, site][f"hours.{f.hour}"] += sign
        return self

    def parts(self) -> tuple[tuple[str, dict], tuple[str, dict]]:
        return ("day", self.daily), ("month", self.monthly)


PARTS = ("hours", "scripts", "fields")


class StatsRoom:
    def __init__(self, db: Database):
        self.daily = db["daily_stats"]
        self.monthly = db["monthly_stats"]
        # Counter ids this process has found or written: they are not looked up again (a look-up costs the
        # embedded server hits x ids). Should one be deleted meanwhile, its `$inc` upsert makes it again.
        self._known: set[str] = set()

    def ensure_indexes(self) -> None:
        # One secondary index each, for one portal's days or months: every index entry costs the embedded server
        # as much as a write (counters with both a (site, day) and a day index: 5.4 s of server CPU for the 2,411
        # replayed articles, 3.3 s without the day index and with inserts for new counters; bench-crawl). All
        # portals' days are a range of `_id` ("day|site"), which needs no index of its own.
        for coll, key in ((self.daily, "day"), (self.monthly, "month")):
            coll.create_index([("site", ASCENDING), (key, ASCENDING)], name=f"site_{key}")
            if key in coll.index_information():  # made by earlier versions
                coll.drop_index(key)

    def apply(self, added: Iterable[Facts], removed: Iterable[Facts] = (), *, final: bool = False) -> None:
        """Count `added` articles in, `removed` ones out (an edit that moved an article to another day).

        Counters that exist get `$inc` upserts; new ones (most of them in a first crawl or a backfill) are
        inserted whole, which the embedded server does in about half the time of an upsert. One `_id` look-up
        per collection says which of those not seen before exist; a counter another writer inserted meanwhile is
        incremented instead."""
        tally = Tally().add(added).add(removed, -1)
        for coll, (key, buckets) in zip((self.daily, self.monthly), tally.parts(), strict=True):
            incs = {f"{period}|{site}": (period, site, {k: v for k, v in inc.items() if v})
                    for (period, site), inc in buckets.items() if any(inc.values())}
            if not incs:
                continue
            target = journalled(coll) if final else coll
            unknown = [i for i in incs if i not in self._known]
            have = {i for i in incs if i in self._known}
            if unknown:
                have.update(d["_id"] for d in coll.find({"_id": {"$in": unknown}}, {"_id": 1}))
            fresh = [i for i in incs if i not in have]
            if fresh:
                try:
                    target.insert_many([_document(key, *incs[i]) for i in fresh], ordered=False)
                except BulkWriteError as exc:
                    errors = exc.details.get("writeErrors", [])
                    if any(e.get("code") != 11000 for e in errors):
                        raise
                    have.update(e["op"]["_id"] for e in errors)
            ops = [UpdateOne({"_id": i}, {"$inc": incs[i][2], "$setOnInsert": {key: incs[i][0], "site": incs[i][1]}},
                             upsert=True) for i in incs if i in have]
            if ops:
                target.bulk_write(ops, ordered=False)
            self._known.update(incs)

    def replace_all(self, tally: Tally) -> None:
        """Recount from scratch (`db reindex`): the counters become exactly this tally."""
        self._known.clear()
        for coll, (key, buckets) in zip((self.daily, self.monthly), tally.parts(), strict=True):
            coll.drop()
            docs = [_document(key, period, site, inc) for (period, site), inc in buckets.items()]
            for i in range(0, len(docs), 1000):
                coll.insert_many(docs[i:i + 1000], ordered=False)
        self.ensure_indexes()

    # -- reads ----------------------------------------------------------------------------------------

    def months(self, site: str | None = None, parts: tuple[str, ...] = PARTS) -> list[dict[str, Any]]:
        """Every month's counters, newest first: of one portal, of all together (ALL), or (None) one document
        per month and portal. `parts`: which of hours/scripts/fields to read besides the count."""
        return self._read(self.monthly, "month", site, {"$gte": ""}, parts)

    def days(self, site: str | None = None, first: str = "", last: str = UNDATED,
             parts: tuple[str, ...] = PARTS) -> list[dict[str, Any]]:
        """The counters of the days in [first, last], newest first (site as for `months`)."""
        return self._read(self.daily, "day", site, {"$gte": first, "$lte": last}, parts)

    @staticmethod
    def _read(coll, key: str, site: str | None, bounds: dict, parts: tuple[str, ...]) -> list[dict[str, Any]]:
        # {site, key range} walks the (site, key) index; every portal's is the same range of `_id`
        # ("period|site": a period string never contains "|", and a last period's ids sort below period + "}").
        if site:
            query: dict[str, Any] = {"site": site, key: bounds}
        else:
            query = {"_id": {op: (value + "}" if op == "$lte" else value) for op, value in bounds.items()}}
        fields = {"_id": 0, key: 1, "site": 1, "n": 1, **{p: 1 for p in parts}}
        docs = [d for d in coll.find(query, fields) if site or d["site"] != ALL]
        return sorted(docs, key=lambda d: (d[key], d["site"]), reverse=True)

    def totals(self) -> dict[str, int]:
        """Articles per portal."""
        out: dict[str, int] = defaultdict(int)
        for doc in self.months(parts=()):
            out[doc["site"]] += doc.get("n", 0)
        return {site: n for site, n in sorted(out.items()) if n}


def _document(key: str, period: str, site: str, inc: dict[str, int]) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": f"{period}|{site}", key: period, "site": site}
    for path, value in inc.items():
        head, _, tail = path.partition(".")
        if tail:
            doc.setdefault(head, {})[tail] = value
        else:
            doc[head] = value
    return doc
