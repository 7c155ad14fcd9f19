"""The raw-page archive: every article page a crawl fetched, kept as received (URL, status, headers, body) so
that `newscrawler reprocess` can run a fixed extractor over articles that will never be fetched again.

WARC files, one per run, under DATA_DIR/archive (`<UTC start>-<pid>.warc.gz`, mode 0600), written by hand (see
ArchiveWriter: warcio's record building cost more than the record) and read with warcio.
Files rather than GridFS: the archive then works the same with the embedded server and a real MongoDB, stays
out of the database's cache, journal and backups (it is ten times the size of the articles), is pruned by
deleting files, and any WARC tool (or `newscrawler import`) reads it.

Each record is its own gzip member and is flushed when written, so a run killed mid-write leaves a file whose
complete records all read back; the cut record at its end is recognised (warcio hands back a short body without
complaint, so every record's body is checked against its declared length) and reading stops there with a
warning. Besides the standard headers, each response record says what the crawl knew about the page:
`Newscrawler-Site`, `Newscrawler-Linked` (the article's canonical URL as linked from its column) and
`Newscrawler-Page` (0 for an article's first page, 1, 2… for its 下一页 continuations), and
`Newscrawler-Requested` when the page came through a redirect (the URL asked for).

This module is a plain library (no Scrapy, no database): the crawl writes through extensions/archive.py, and
reprocess reads through spiders/reprocess.py.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
import time
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import responses as REASONS
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

logger = logging.getLogger(__name__)

SUFFIX = ".warc.gz"
SITE, LINKED, PAGE, REQUESTED = "Newscrawler-Site", "Newscrawler-Linked", "Newscrawler-Page", "Newscrawler-Requested"
# The body handed to the archive is Scrapy's: decompressed and de-chunked. Headers saying otherwise would make
# WARC readers decode it a second time; Content-Length is set to the body kept.
_DROPPED_HEADERS = {"transfer-encoding", "content-encoding", "content-length"}


def archive_dir(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / "archive"


def archive_files(directory: Path) -> list[Path]:
    """The archive's files, oldest run first (their names start with the run's UTC start time)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.name.endswith(SUFFIX) and p.is_file())


def prune(directory: Path, keep_days: int, now: float | None = None) -> list[Path]:
    """Delete the archive files last written more than `keep_days` days ago (0: keep every file)."""
    if keep_days <= 0:
        return []
    cutoff = (time.time() if now is None else now) - keep_days * 86400
    removed = []
    for path in archive_files(directory):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue
    return removed


@dataclass
class ArchivedPage:
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    fetched: datetime
    site: str | None = None
    linked: str | None = None
    page: int = 0
    requested: str | None = None  # the URL asked for, when a redirect led to `url`
    # Where the record lies: the file and the offset of its gzip member.
    path: Path | None = None
    offset: int | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# One gzip member per record, as warcio's WARCWriter(gzip=True) writes them, but at zlib's default level 6, not
# warcio's 9: on the 213 corpus pages (136 KB each on average) 5.07 -> 3.41 ms of CPU per page for 0.5 % more
# bytes (0.2270 -> 0.2281 of the page); on real 45 KB pages 1,773 -> 1,191 us per record, the file 0.3 % larger.
# The crawler pays it on its event loop for every page it fetches: at level 9 it cost more than extracting it.
_GZIP_LEVEL, _GZIP_WBITS = 6, zlib.MAX_WBITS | 16
# warcio's StatusAndHeaders.ENCODE_HEADER_RX: the `=value` parts of a `;`-separated header value.
_PARAM_VALUE = re.compile(r'[=]["\']?([^;"]+)["\']?(?=[;]?)')


def _warc_date(when: datetime | None = None) -> str:
    """Now (or `when`, UTC), to the microsecond as WARC/1.1 allows; warcio's format: no fraction when it is 0."""
    return (when or datetime.now(UTC)).replace(tzinfo=None).isoformat() + "Z"


def _sha1(*parts: bytes) -> str:
    digest = hashlib.sha1()
    for part in parts:
        digest.update(part)
    return "sha1:" + base64.b32encode(digest.digest()).decode("ascii")


def _rfc8187(value: str) -> str:
    """A header value that is not ASCII, %-encoded as warcio's StatusAndHeaders.percent_encode_non_ascii_headers
    does it (RFC 8187 style: a parameter becomes `name*=UTF-8''%..`, any other value is %-encoded whole), so that
    the archive reads back as it did when warcio wrote it. (What is %-encoded is the UTF-8 of the latin-1 text: a
    value the server sent in UTF-8 reads back %-encoded twice over, as in the files warcio wrote.)"""
    if ";" not in value:
        return quote(value)
    encoded = _PARAM_VALUE.sub(lambda m: "*=UTF-8''" + quote(m.group(1)), value)
    return encoded if encoded != value else quote(value)


def _http_head(status: int, headers: list[tuple[str, str]]) -> bytes:
    """The HTTP status line and headers, ASCII: values that are not (latin-1 text of the bytes received) are
    %-encoded. A header name that is not ASCII raises UnicodeEncodeError, as warcio does."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in headers)
    lines.append("\r\n")
    try:
        return "".join(lines).encode("ascii")
    except UnicodeEncodeError:
        pass
    lines[1:-1] = (f"{name}: {value if value.isascii() else _rfc8187(value)}\r\n" for name, value in headers)
    return "".join(lines).encode("ascii")


def _warc_head(fields: list[tuple[str, str]]) -> bytes:
    return ("WARC/1.1\r\n" + "".join(f"{name}: {value}\r\n" for name, value in fields) + "\r\n").encode("utf-8")


def _gzip_member(*parts: bytes) -> bytes:
    """One record (its parts, then the two CRLFs that end it) as one gzip member."""
    gzip = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
    member = [gzip.compress(part) for part in parts]
    member.append(gzip.compress(b"\r\n\r\n"))
    member.append(gzip.flush())
    return b"".join(member)


def response_record(url: str, status: int, headers: Iterable[tuple[str, str]], body: bytes, *, site: str | None,
                    linked: str | None, page: int = 0, requested: str | None = None,
                    when: datetime | None = None) -> bytes:
    """One response record, gzipped, ready for ArchiveWriter.append: a plain function of the page, so the crawl
    has it made in its extraction process (the digests and the gzip are most of the archive's cost). `when`:
    the time the page was received (default now)."""
    kept = [(k, v) for k, v in headers if k.lower() not in _DROPPED_HEADERS]
    kept.append(("Content-Length", str(len(body))))
    http = _http_head(status, kept)
    # In warcio's order: the extra headers first, then the standard ones as it adds them.
    fields = [(SITE, site or ""), (LINKED, linked or ""), (PAGE, str(page))]
    if requested and requested != url:
        fields.append((REQUESTED, requested))
    fields += [("WARC-Type", "response"), ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>")]
    if url:
        fields.append(("WARC-Target-URI", url))
    fields += [("WARC-Date", _warc_date(when)), ("WARC-Payload-Digest", _sha1(body)),
               ("WARC-Block-Digest", _sha1(http, body)), ("Content-Type", "application/http; msgtype=response"),
               ("Content-Length", str(len(http) + len(body)))]
    return _gzip_member(_warc_head(fields), http, body)


class ArchiveWriter:
    """One run's archive file, created with the first page written: a run that fetches no article page leaves
    no file behind.

    The records are built by hand, byte for byte what warcio's WARCWriter (WARC/1.1, gzip) wrote for them (the
    tests compare the two): warcio's record building in Python cost more than the record. CPU per record of 2,670
    response records (/tmp/warcbench.py: the two writers alternating in one process, best of 9 rounds): warcio
    130 µs → 86 µs with no body (0.66), 219 → 164 µs on the replay's 3.7 KB pages (0.75), 1,865 → 1,770 µs on
    real 45 KB portal pages (0.95: level-9 gzip is most of it). The crawl pays this on its event loop. Tried and
    dropped: one deflate stream for the whole file cut by full flushes into gzip members, to spare a compressor
    per record (~256 KB of zlib state each): 182 → 179 µs on the replay's pages, no gain worth the framing code.
    """

    def __init__(self, directory: Path, info: dict[str, str] | None = None):
        self.directory = directory
        self.info = info or {}
        self.path: Path | None = None
        self.pages = 0
        self._fh: BinaryIO | None = None

    def _open(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.directory / f"{stamp}-{os.getpid()}{SUFFIX}"
        # 0600 from the start (never widened by a later chmod): pages may carry what a portal shows logged-in users.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        self._fh = os.fdopen(fd, "wb")
        self.path = path
        info = {"software": "newscrawler", "format": "WARC File Format 1.1", **self.info}
        block = "".join(f"{name}: {value}\r\n" for name, value in info.items() if value).encode("utf-8")
        self._fh.write(_gzip_member(_warc_head([
            ("WARC-Type", "warcinfo"), ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"), ("WARC-Filename", path.name),
            ("WARC-Date", _warc_date()), ("WARC-Block-Digest", _sha1(block)),
            ("Content-Type", "application/warc-fields"), ("Content-Length", str(len(block)))]), block))

    def append(self, member: bytes) -> None:
        """One record, as response_record() made it, written and flushed to the file: a run killed now loses this
        record at most, and a reader sees where it was cut."""
        if self._fh is None:
            self._open()
        self._fh.write(member)
        self._fh.flush()
        self.pages += 1

    def write(self, url: str, status: int, headers: Iterable[tuple[str, str]], body: bytes, *, site: str | None,
              linked: str | None, page: int = 0, requested: str | None = None) -> None:
        """Append one response record (one gzip member, flushed to the file)."""
        self.append(response_record(url, status, headers, body, site=site, linked=linked, page=page,
                                    requested=requested))

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size if self.path else 0
        except OSError:
            return 0


class ArchiveDamaged(Exception):
    """A record could not be read whole (the file was cut short by a killed run, or damaged); every record
    before it was read."""

    def __init__(self, path: Path, offset: int | None, reason: str):
        self.path, self.offset, self.reason = path, offset, reason
        super().__init__(f"archive file {path}: record at byte {offset if offset is not None else '?'} "
                         f"is incomplete or damaged ({reason}); the records before it are used")


def _page(record, path: Path, offset: int, body: bytes) -> ArchivedPage:
    rec, http = record.rec_headers, record.http_headers
    date = rec.get_header("WARC-Date") or ""
    page = rec.get_header(PAGE) or "0"
    return ArchivedPage(
        url=rec.get_header("WARC-Target-URI"), status=int(http.get_statuscode() or 0), headers=list(http.headers),
        body=body, fetched=datetime.fromisoformat(date.replace("Z", "+00:00")).astimezone(UTC),
        site=rec.get_header(SITE) or None, linked=rec.get_header(LINKED) or None,
        page=int(page) if page.isdigit() else 0, requested=rec.get_header(REQUESTED) or None, path=path,
        offset=offset)


def read_pages(path: Path, start: int = 0, *, bodies: bool = True, limit: int | None = None) -> Iterator[ArchivedPage]:
    """The response records of one archive file from byte `start` (a record's offset), in order; raises
    ArchiveDamaged at the first record that cannot be read whole, after yielding every one before it. Without
    `bodies`, pages come with an empty body (they are still read and checked)."""
    from warcio.archiveiterator import ArchiveIterator

    end = start  # where the last complete record ends
    with path.open("rb") as fh:
        fh.seek(start)
        records = ArchiveIterator(fh, check_digests="raise")
        n = 0
        try:
            for record in records:
                # The payload as written: the archive keeps no Content-/Transfer-Encoding to undo.
                body = record.raw_stream.read()
                # (Only now: warcio's get_record_offset() reads the record to its end. It counts from the file's
                # start, wherever reading began.)
                offset = records.get_record_offset()
                # warcio returns a short body, silently, for a record cut off mid-way (a run killed while writing
                # it): the record is whole only if its reader reached the length its header declared (a record
                # cut inside its header has no declared length at all).
                missing = getattr(record.raw_stream, "limit", None)
                if missing is None or missing:
                    raise ArchiveDamaged(path, offset, f"{missing} bytes missing" if missing else "header cut short")
                end = offset + records.get_record_length()
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                yield _page(record, path, offset, body if bodies else b"")
                n += 1
                if limit is not None and n >= limit:
                    return
            size = os.fstat(fh.fileno()).st_size
        except ArchiveDamaged:
            raise
        except Exception as exc:  # noqa: BLE001 - warcio fails on cut records in many ways (AttributeError too)
            raise ArchiveDamaged(path, end, f"{type(exc).__name__}: {exc}") from None
    # A record cut off within its first bytes ends the iteration without a word.
    if end < size:
        raise ArchiveDamaged(path, end, f"{size - end} bytes after the last complete record")


def read_page(path: Path, offset: int) -> ArchivedPage:
    """The one record at `offset` of an archive file."""
    for page in read_pages(path, offset, limit=1):
        return page
    raise ArchiveDamaged(path, offset, "no response record there")


@dataclass
class ArchivedArticle:
    """The newest archived fetch of one article: its first page and the continuation pages of the same fetch."""

    site: str
    linked: str
    url: str
    first_fetched: datetime
    fetched: datetime
    pages: dict[str, tuple[Path, int]] = field(default_factory=dict)


def newest_articles(directory: Path, sites: Iterable[str] | None = None, since: datetime | None = None,
                    until: datetime | None = None,
                    damaged: list[ArchiveDamaged] | None = None) -> dict[str, ArchivedArticle]:
    """Each archived article's newest fetch whose first page was answered 2xx, by its canonical linked URL,
    for the given sites; `since`/`until` select by when that first page was fetched (until: before). A damaged
    file contributes the records before the damage, and the damage is appended to `damaged` (and logged)."""
    wanted = set(sites) if sites is not None else None
    newest: dict[str, ArchivedArticle] = {}
    for path in archive_files(directory):
        if since is not None and datetime.fromtimestamp(path.stat().st_mtime, UTC) < since:
            continue  # last written before the window opened
        runs: dict[str, ArchivedArticle] = {}
        continuations: list[ArchivedPage] = []
        try:
            for page in read_pages(path, bodies=False):
                if not page.linked or not page.site or (wanted is not None and page.site not in wanted):
                    continue
                if page.page:
                    continuations.append(page)
                elif page.ok and page.linked not in runs:
                    runs[page.linked] = ArchivedArticle(page.site, page.linked, page.url, page.fetched, page.fetched,
                                                        {page.url: (path, page.offset)})
        except ArchiveDamaged as exc:
            logger.warning("%s", exc)
            if damaged is not None:
                damaged.append(exc)
        for page in continuations:
            article = runs.get(page.linked)
            if article is not None:
                for url in filter(None, (page.url, page.requested)):
                    article.pages.setdefault(url, (path, page.offset))
                article.fetched = max(article.fetched, page.fetched)
        for key, article in runs.items():
            if (since and article.first_fetched < since) or (until and article.first_fetched >= until):
                continue
            if key not in newest or article.first_fetched > newest[key].first_fetched:
                newest[key] = article
    return newest


def keep_days(value: object) -> int:
    """NEWSCRAWLER_ARCHIVE_DAYS as a number of days; anything else is reported and read as 0 (keep every file:
    a typo must not delete the archive)."""
    try:
        days = int(str(value).strip() or 0)
        if days >= 0:
            return days
    except ValueError:
        pass
    logger.error("NEWSCRAWLER_ARCHIVE_DAYS=%r is not a number of days (0 keeps the archive forever); keeping "
                 "every archive file", value)
    return 0
