"""Derived data kept in SQLite next to the data directory: the search index (search.py) and dedup's band
index (bands.py). Both are made from what MongoDB holds, written by the store with every batch, and rebuilt by
`newscrawler db reindex`.

Each file records which store it belongs to (the random id of MetaRoom.store_id), its format version and whether
it is complete (holds everything of that store); a file of another store or version is emptied before use, and
an incomplete one makes `Store.needs_reindex()` name it.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from pathlib import Path

META_SCHEMA = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"


class DerivedIndex:
    """One SQLite file; a connection per thread (the console answers on several). Subclasses give SCHEMA,
    FORMAT_VERSION (bump when the tables change: an index of another version is rebuilt) and clear()."""

    SCHEMA = ""
    FORMAT_VERSION = "1"
    NAME = "index"

    def __init__(self, path: str | Path | None = None):
        if path is None:
            # A Store made without a data directory (tests): a private file, removed on close.
            self._tmp: tempfile.TemporaryDirectory | None = tempfile.TemporaryDirectory(
                prefix=f"newscrawler-{self.NAME}-")
            path = Path(self._tmp.name) / f"{self.NAME}.sqlite3"
        else:
            self._tmp = None
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with self._conn() as conn:
            conn.executescript(META_SCHEMA + self.SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    # -- state ----------------------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        return dict(self._conn().execute("SELECT key, value FROM meta"))

    def is_complete_for(self, store_id: str) -> bool:
        """True when this index holds everything of the store `store_id` (built from empty, or rebuilt)."""
        meta = self.meta()
        return (meta.get("store") == store_id and meta.get("complete") == "1"
                and meta.get("version") == self.FORMAT_VERSION)

    def claim(self, store_id: str, *, complete: bool) -> None:
        """Make this the (empty) index of `store_id`; `complete` says it holds everything from now on."""
        meta = self.meta()
        if meta.get("store") != store_id or meta.get("version") != self.FORMAT_VERSION:
            self.clear()
        with self._conn() as conn:
            conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [("store", store_id), ("version", self.FORMAT_VERSION),
                              ("complete", "1" if complete else "0")])

    def mark_incomplete(self) -> None:
        with self._conn() as conn:
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('complete', '0')")

    def clear(self) -> None:
        raise NotImplementedError
