"""Spill files: what a run could not write to the store, kept as JSON Lines under `DATA_DIR/spill/`.

The store pipeline appends an article's stored fields when the database is gone (`write`). The next
command that reaches the store — a crawl or import (cli/common.py's Job) or `newscrawler db load-spill` —
loads every spill file it finds (`load`): the articles are clustered through dedup (the spill keeps the
stored fields; the match key dedup compares is recomputed from them) and written as the crawl would have
written them, and the file is renamed `….jsonl.loaded`. A line that cannot be read (cut mid-character by a
full disk, not JSON, not an article) is reported by file and line number and kept in `….jsonl.rejected`;
the rest of the file still goes in.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter

from newscrawler import schema
from newscrawler.dedup.engine import Deduplicator
from newscrawler.normalise.sources import site_outlets
from newscrawler.profiles import load_profiles
from newscrawler.store import STORE_ERRORS, Store, StoreError

logger = logging.getLogger(__name__)

DATE_FIELDS = tuple(name for name, info in schema.field_infos().items() if info.type in (datetime, datetime | None))
LOAD_BATCH = 200


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def line(item: Any) -> str:
    """An item's stored fields as one spill line."""
    return json.dumps(schema.document(item), ensure_ascii=False, default=_json_default) + "\n"


def write(path: Path, items: Iterable[Any]) -> int:
    """Append the items to a spill file (owner-only), flushed to disk; returns how many were written.
    Raises OSError (a full disk, an unwritable folder): the caller says what could not be kept."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = "".join(line(it) for it in items)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    start = os.lseek(fd, 0, os.SEEK_END)
    try:
        data = text.encode("utf-8")
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    except OSError:
        # Leave no half line behind (a full disk): the file holds whole articles or nothing of this batch.
        try:
            os.ftruncate(fd, start)
            if start == 0:
                path.unlink()
        except OSError:
            pass
        raise
    finally:
        os.close(fd)
    return text.count("\n")


@dataclass
class Loaded:
    path: Path
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # (line number, why) of the lines that could not be read; kept in <file>.rejected
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def articles(self) -> int:
        return self.new + self.updated + self.unchanged

    def summary(self) -> str:
        text = (f"loaded {self.articles} articles from {self.path}: new {self.new}, updated {self.updated}, "
                f"unchanged {self.unchanged}")
        if self.rejected:
            numbers = ", ".join(str(n) for n, _ in self.rejected[:10]) + (" …" if len(self.rejected) > 10 else "")
            text += (f"; {len(self.rejected)} line(s) could not be read (line {numbers}: {self.rejected[0][1]}), "
                     f"kept in {self.path.name}.rejected")
        return text


def read(path: Path) -> tuple[list[dict[str, Any]], list[tuple[int, str, bytes]]]:
    """(articles, rejected lines as (number, why, bytes)) of a spill file."""
    items, rejected = [], []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw.decode("utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not a JSON object")
                items.append(revive(schema.document(schema.from_mapping(data))))
            except UnicodeDecodeError as exc:
                rejected.append((number, f"not UTF-8 (cut at byte {exc.start}?)", raw))
            except (ValueError, TypeError) as exc:
                rejected.append((number, f"not an article ({str(exc)[:200]})", raw))
    return items, rejected


def revive(item: dict[str, Any]) -> dict[str, Any]:
    """Spill files hold datetimes as ISO strings; the store keeps them as dates."""
    for key in DATE_FIELDS:
        value = item.get(key)
        if isinstance(value, str):
            item[key] = datetime.fromisoformat(value)
    return item


def prepare(item: dict[str, Any]) -> dict[str, Any]:
    """What dedup needs that the store does not keep: the match key, from the (Simplified) body."""
    from newscrawler.normalise.article import body_hash
    from newscrawler.normalise.script import match_key, to_simplified

    simplified = item.get("articleBodySimplified") or to_simplified(item.get("articleBody") or "",
                                                                      item.get("script")) or ""
    item["matchKey"] = match_key(simplified)
    if not item.get("bodyHash"):
        item["bodyHash"] = body_hash(simplified)
    return item


def load(store: Store, path: Path) -> Loaded:
    """Store a spill file's articles, clustered, as the crawl would have; rename it `.loaded` (and keep the
    unreadable lines in `.rejected`). Raises StoreError if the store fails meanwhile (the file stays)."""
    try:
        return _load(store, path, load_profiles(broken=[]))
    except StoreError:
        raise
    except STORE_ERRORS as exc:
        raise StoreError(f"loading {path} into {store.display_uri} failed: {exc}") from None


def _load(store: Store, path: Path, profiles: dict) -> Loaded:
    result = Loaded(path)
    items, rejected = read(path)
    dedup = Deduplicator(store.fingerprints)
    for start in range(0, len(items), LOAD_BATCH):
        batch = [prepare(it) for it in items[start:start + LOAD_BATCH]]
        originals = []
        for it in batch:
            profile = profiles.get(it.get("site"))
            originals.append(not it.get("source") or it["source"] in site_outlets(
                it.get("site"), profile.name if profile else None))
        for it, decision in zip(batch, dedup.process([ItemAdapter(it) for it in batch], originals, final=True),
                                strict=True):
            if decision is not None:
                it.update(decision.fields())
        counts = store.articles.write(batch, final=True)
        result.new, result.updated, result.unchanged = (result.new + counts.new, result.updated + counts.updated,
                                                         result.unchanged + counts.unchanged)
    if rejected:
        fd = os.open(path.with_name(path.name + ".rejected"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as fh:
            for _, _, raw in rejected:
                fh.write(raw if raw.endswith(b"\n") else raw + b"\n")
        result.rejected = [(n, why) for n, why, _ in rejected]
    path.rename(path.with_name(path.name + ".loaded"))
    return result


def keep_run_record(data_dir: str | Path | None, run_id: Any, fields: dict[str, Any]) -> Path | None:
    """A run's final record that the store could not take, kept next to its spill file (`<run>.run.json`);
    the next run writes it into `crawl_runs`. None (and a logged error) when even that fails."""
    from newscrawler import config

    if run_id is None:
        return None
    path = config.data_dir(data_dir or None) / "spill" / f"{run_id}.run.json"
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"_id": str(run_id), "endedAt": datetime.now(UTC).isoformat(), **fields}, fh,
                      ensure_ascii=False, default=_json_default)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        logger.error("could not keep the run record in %s either: %s", path, exc.strerror or exc)
        return None
    logger.warning("run record kept in %s; the next run writes it to the store", path)
    return path


def pending(data_dir: Path) -> list[Path]:
    """Spill files not loaded yet, oldest first."""
    folder = data_dir / "spill"
    return sorted(folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []


def load_pending(store: Store, data_dir: Path) -> list[Loaded]:
    """Load every spill file earlier runs left (a file that cannot be read is named and left for next time).
    Raises StoreError when the store fails meanwhile (what was not loaded stays for the next run)."""
    for path in sorted((data_dir / "spill").glob("*.run.json")) if (data_dir / "spill").is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            run_id = record.pop("_id")
            record["endedAt"] = datetime.fromisoformat(record["endedAt"])
            store.runs.finish(run_id, record)
        except OSError as exc:
            logger.error("could not load the run record %s: %s", path, exc.strerror or exc)
            continue
        except (ValueError, KeyError, TypeError) as exc:
            path.rename(path.with_name(path.name + ".rejected"))
            logger.error("the run record %s is not readable (%s); renamed .rejected", path, exc)
            continue
        path.rename(path.with_name(path.name + ".loaded"))
        logger.info("run record %s written to the store", run_id)
    done = []
    for path in pending(data_dir):
        try:
            loaded = load(store, path)
        except OSError as exc:
            logger.error("could not load the spill file %s: %s; it is tried again next run", path, exc)
            continue
        logger.log(logging.WARNING if loaded.rejected else logging.INFO, "%s", loaded.summary())
        done.append(loaded)
    return done
