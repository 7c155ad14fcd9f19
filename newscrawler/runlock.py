"""One crawl at a time per data directory: an advisory lock that the OS releases if the process dies."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path


class RunLocked(RuntimeError):
    """Another crawl holds the lock on this data directory."""


class RunLock:
    def __init__(self, data_dir: Path):
        self.path = data_dir / "crawl.lock"
        self.fh = None

    def acquire(self) -> RunLock:
        fh = open(self.path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown process"
            fh.close()
            raise RunLocked(f"another crawl is already running on {self.path.parent} ({holder}); "
                            "this run exits without doing anything") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {datetime.now(UTC).isoformat(timespec='seconds')}")
        fh.flush()
        self.fh = fh
        return self

    def release(self) -> None:
        if self.fh:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()
            self.fh = None

    def __enter__(self) -> RunLock:
        return self if self.fh else self.acquire()  # `with` on a lock already acquired holds it until the block ends

    def __exit__(self, *exc: object) -> None:
        self.release()
