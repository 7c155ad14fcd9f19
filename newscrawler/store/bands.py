"""Dedup's candidate look-up: LSH band key → the stored fingerprints that have it, in a SQLite file next to the data
directory (`DATA_DIR/dedup/<db>.sqlite3`).

Why not a multikey index on `fingerprints.bands` in MongoDB, as earlier versions had: on the embedded server
(SecantusDB, a Python server) every index entry costs ~65 µs to write (8 per fingerprint), and a `$in` look-up
re-checks every document it finds against every key asked for, in Python. Over the replay crawl (2,411 articles,
`make bench-crawl`) the band look-ups took 4.8 s of the database's 15.0 s of command time and the index's writes
1.3 s of its CPU; with this file the database's CPU over the crawl fell from 12.5 s to 6.0 s, and the look-ups
cost the crawler a few milliseconds per batch.

MongoDB's `fingerprints` stays the record (every field, the band keys included); this file is derived from it
(newscrawler/store/derived.py): FingerprintRoom.write writes here first, then to the database, so whatever the
database holds is here too (a fingerprint here whose database write failed belongs to an article kept in the
spill file, and is written again when the spill is loaded). `newscrawler db reindex` rebuilds it from MongoDB; a
crawl does that by itself when the file is missing or belongs to another store.

What it keeps per fingerprint is what the engine needs to judge a candidate (FP_FIELDS, its MinHash signature
among them), so a candidate costs no database round trip. Like the search index, it knows only what was
written through this data directory: a second machine writing into the same database with a data directory of
its own does not see this one's fingerprints as candidates (nor the reverse) until `db reindex`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

import bson
from bson.codec_options import CodecOptions

from newscrawler.store.derived import DerivedIndex

SCHEMA = """
CREATE TABLE IF NOT EXISTS fingerprints (id INTEGER PRIMARY KEY, url TEXT NOT NULL UNIQUE, doc BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS bands (key INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (key, id)) WITHOUT ROWID;
"""

# What the engine reads of a candidate (dedup/engine.py: _match, member, Decision): never anything article-sized.
FP_FIELDS = ("cluster", "bodyHash", "bands", "sig", "nums", "site", "source", "firstSeen", "published", "original",
             "dedup", "duplicateOf")
# As pymongo hands documents back to the store (connection.py: tz_aware), so a candidate read here equals one read
# from the database.
_CODEC = CodecOptions(tz_aware=True, tzinfo=UTC)


class BandIndex(DerivedIndex):
    SCHEMA = SCHEMA
    FORMAT_VERSION = "1"
    NAME = "dedup"

    def clear(self) -> None:
        conn = self._conn()
        with conn:
            for table in ("fingerprints", "bands", "meta"):
                conn.execute(f"DELETE FROM {table}")
        conn.execute("VACUUM")

    def size(self) -> int:
        return self._conn().execute("SELECT count(*) FROM fingerprints").fetchone()[0]

    def add(self, fps: Iterable[dict[str, Any]]) -> int:
        """Record fingerprints (new ones, or changed ones replacing their old keys); one transaction."""
        conn = self._conn()
        n = 0
        with conn:
            for fp in fps:
                doc = {"_id": fp["_id"], **{k: fp[k] for k in FP_FIELDS if k in fp}}
                blob = bson.encode(doc)
                row = conn.execute("SELECT id, doc FROM fingerprints WHERE url = ?", (fp["_id"],)).fetchone()
                if row is None:
                    rid = conn.execute("INSERT INTO fingerprints (url, doc) VALUES (?, ?)", (fp["_id"], blob)).lastrowid
                else:
                    rid = row[0]
                    old = bson.decode(row[1]).get("bands") or ()
                    conn.executemany("DELETE FROM bands WHERE key = ? AND id = ?", [(k, rid) for k in old])
                    conn.execute("UPDATE fingerprints SET doc = ? WHERE id = ?", (blob, rid))
                conn.executemany("INSERT OR IGNORE INTO bands (key, id) VALUES (?, ?)",
                                 [(k, rid) for k in dict.fromkeys(fp.get("bands") or ())])
                n += 1
        return n

    def candidates(self, keys: list[int], limit: int) -> list[dict[str, Any]]:
        """Fingerprints having any of `keys` (one article's), at most `limit` of them."""
        sql = ("SELECT doc FROM fingerprints WHERE id IN "
               f"(SELECT DISTINCT id FROM bands WHERE key IN ({','.join('?' * len(keys))}) LIMIT ?)")
        return [bson.decode(blob, _CODEC) for (blob,) in self._conn().execute(sql, (*keys, limit))]
