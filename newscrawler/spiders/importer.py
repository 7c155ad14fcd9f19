"""The import spider: saved pages (HTML files, WARC files) through the same pipelines as a crawl.

It fetches nothing. `start()` reads the files and yields extracted articles as items, so validation,
normalisation, dedup and storage are exactly the crawl's (ITEM_PIPELINES). Each page's URL is, in order:
the `--url-map` entry for its file name, the URL the WARC record was fetched from, the page's own
rel=canonical, else its file:// URL. The site is the portal profile owning that URL, else the host
without `www.` ("local" for file URLs).
"""

from __future__ import annotations

import csv
import os
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy

from newscrawler import signals
from newscrawler.extract import Article, ExtractionError, extract
from newscrawler.profiles import PortalProfile, ProfileError, load_profiles, profile_for_url

HTML_SUFFIXES = (".html", ".htm", ".shtml", ".xhtml")
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")


def read_url_map(path: str | os.PathLike | None) -> dict[str, str]:
    """`file name<TAB>URL` per line; blank lines and lines starting with # are skipped."""
    if not path:
        return {}
    out: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.reader(fh, delimiter="\t"), 1):
            if not row or not row[0].strip() or row[0].startswith("#"):
                continue
            if len(row) < 2 or not row[1].strip():
                raise ValueError(f"{path}:{n}: expected 'file name<TAB>URL', got {row!r}")
            out[row[0].strip()] = row[1].strip()
    return out


def iter_files(paths: list[str]) -> Iterator[Path]:
    """Files named, and the HTML/WARC files under directories named, in a stable order."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.name.lower().endswith(HTML_SUFFIXES + WARC_SUFFIXES):
                    yield f
        else:
            yield p


def site_for(url: str, profiles: dict[str, PortalProfile]) -> tuple[str, PortalProfile | None]:
    profile = profile_for_url(url, profiles) if profiles else None
    if profile is not None:
        return profile.site, profile
    host = (urlsplit(url).hostname or "").lower()
    if host.startswith("www."):
        host = host[4:]
    return host or "local", None


class ImportSpider(scrapy.Spider):
    name = "import"

    def __init__(self, paths: list[str] | str = (), url_map: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.paths = paths.split(os.pathsep) if isinstance(paths, str) else list(paths)
        self.url_map = read_url_map(url_map)
        broken: list[ProfileError] = []
        self.profiles: dict[str, PortalProfile] = load_profiles(broken=broken)
        for exc in broken:  # a broken profile does not stop an import; its portal's pages get the host as site
            self.logger.error("%s; that portal is left out", exc)

    async def start(self) -> AsyncIterator[Article]:
        for path in iter_files(self.paths):
            name = path.name.lower()
            try:
                if name.endswith(WARC_SUFFIXES):
                    for url, body, headers, when in self._warc_pages(path):
                        item = self._article(body, url, headers, when, str(path))
                        if item is not None:
                            yield item
                else:
                    item = self._html_file(path)
                    if item is not None:
                        yield item
            except OSError as exc:
                self._error(str(path), f"cannot read: {exc.strerror or exc}")
            except TruncatedArchive as exc:
                self._error(str(path), str(exc))
            except Exception as exc:  # noqa: BLE001 - a damaged file is reported, and the next one imported
                self._error(str(path), f"damaged file, the rest of it skipped ({type(exc).__name__}: {exc})")

    def _html_file(self, path: Path) -> Article | None:
        body = path.read_bytes()
        fetched = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        url = self.url_map.get(path.name) or self.url_map.get(str(path))
        if url is None:
            # No map entry: the page's rel=canonical if it has one, else where it lies on disk.
            file_url = path.resolve().as_uri()
            try:
                canonical = extract(body, file_url).canonicalUrl
            except ExtractionError as exc:
                self._error(str(path), str(exc))
                return None
            url = canonical if canonical and urlsplit(canonical).scheme in ("http", "https") else file_url
        return self._article(body, url, None, fetched, str(path))

    def _warc_pages(self, path: Path) -> Iterator[tuple[str, bytes, dict[str, str], datetime]]:
        """The HTML responses of a WARC (or ARC) file. A record cut short is reported and skipped, and a
        compressed file that ends early (its last records lost) is reported: warcio reads both silently."""
        from warcio.archiveiterator import ArchiveIterator

        cut_short = False
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh, arc2warc=True):
                if record.rec_type != "response" or record.http_headers is None:
                    continue
                status = record.http_headers.get_statuscode()
                ctype = (record.http_headers.get_header("Content-Type") or "").lower()
                if status != "200" or ("html" not in ctype and ctype):
                    self.crawler.stats.inc_value("import/warc_records_skipped")
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                body = record.content_stream().read()
                missing = getattr(record.raw_stream, "limit", 0)
                if missing:
                    self._error(f"{path} ({url})", f"the record is cut short: {missing} of its bytes are missing "
                                                   "(a truncated file?); skipped")
                    cut_short = True
                    continue
                url = self.url_map.get(url, url)
                headers = dict(record.http_headers.headers)
                when = _warc_date(record.rec_headers.get_header("WARC-Date"))
                yield url, body, headers, when
        if path.name.lower().endswith(".gz") and not cut_short:
            _check_gzip(path)

    def _article(self, body: bytes, url: str, headers: dict[str, str] | None, fetched: datetime,
                 origin: str) -> Article | None:
        site, profile = site_for(url, self.profiles)
        try:
            article = extract(body, url, headers=headers, profile=profile)
        except ExtractionError as exc:
            self._error(origin, str(exc))
            return None
        self.crawler.stats.inc_value("import/pages")
        article.nextPage = None
        article.site, article.url, article.fetchedAt, article.importedFrom = site, url, fetched, origin
        return article

    def _error(self, origin: str, reason: str) -> None:
        self.crawler.stats.inc_value("errors/import")
        self.logger.error("cannot import %s: %s", origin, reason)
        self.crawler.signals.send_catch_log(signals.fetch_failed, url=origin, kind="import", reason=reason, site=None)


class TruncatedArchive(ValueError):
    """A compressed WARC file ends inside a record: the records before were imported, the rest are lost."""


def _check_gzip(path: Path) -> None:
    """Raise TruncatedArchive if a gzip file ends before its last member does (warcio then reads the
    members before it and says nothing of the one lost)."""
    import gzip

    try:
        with gzip.open(path) as fh:
            while fh.read(1 << 20):
                pass
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise TruncatedArchive(f"the compressed file is truncated or damaged ({exc}); the records before the "
                               "damage were imported, the rest of it is lost") from None


def _warc_date(value: str | None) -> datetime:
    if value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    return datetime.now(UTC)
