"""Where things live: the data directory (embedded database, logs, locks) and the MongoDB URI."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $NEWSCRAWLER_DATA_DIR, else ./var; created on first use."""
    path = Path(explicit or os.environ.get("NEWSCRAWLER_DATA_DIR") or "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def mongo_uri() -> str | None:
    """An external MongoDB when $MONGO_URI is set; None means the embedded server."""
    return os.environ.get("MONGO_URI") or None


def database_name() -> str:
    return os.environ.get("NEWSCRAWLER_DB", "newscrawler")
