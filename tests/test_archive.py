"""The raw-page archive and `newscrawler reprocess`.

The archive library on its own (a file cut short anywhere in its last record, retention), then real processes:
`newscrawler crawl` of a replay recording archives every article page; an extractor change (profile overrides
through NEWSCRAWLER_PROFILES) reprocessed — killed half-way by SIGKILL, run again, run a third time — versions
exactly the affected articles once; an article fetched again later while archiving was off is never turned back;
old archive files are pruned when a run starts. Everything talks to the shared MongoDB-wire test server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import unicodedata
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from http.client import responses as REASONS
from io import BytesIO
from pathlib import Path

import bson
import pymongo
import pytest
from kit import newscrawler
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from newscrawler.archive import (
    LINKED,
    PAGE,
    REQUESTED,
    SITE,
    ArchiveDamaged,
    ArchiveWriter,
    _warc_date,
    archive_files,
    keep_days,
    newest_articles,
    prune,
    read_page,
    read_pages,
)
from newscrawler.profiles import BUILTIN_DIR, load_profiles
from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

REPO = Path(__file__).resolve().parents[1]
PROFILES = load_profiles()


def squash(text: str | None) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def is_article_page(url: str) -> bool:
    return any(p.owns_url(url) and (p.is_article_url(url) or re.search(r"_\d{2}\.shtml$", url))
               for p in PROFILES.values())


# -- the archive library ------------------------------------------------------------------------------------

def page_body(n: int) -> bytes:
    """A page of a few KB that compresses like HTML (repetitive, with some variety)."""
    paragraphs = "".join(f"<p>第{i}段：洛阳新闻 {n * 7919 + i * 104729:x} 记者报道。</p>\n" for i in range(60))
    return f"<html><head><title>{n}</title></head><body>{paragraphs}</body></html>".encode()


def test_archive_file_is_private_and_reads_back_what_was_received(tmp_path):
    writer = ArchiveWriter(tmp_path / "archive", {"run": "r1"})
    headers = [("Content-Type", "text/html; charset=gbk"), ("Transfer-Encoding", "chunked"),
               ("Content-Length", "17"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]
    writer.write("http://news.lyd.com.cn/a.shtml", 200, headers, page_body(1), site="lyd",
                 linked="http://news.lyd.com.cn/a.shtml")
    writer.write("http://news.lyd.com.cn/a_01.shtml", 200, headers, page_body(2), site="lyd",
                 linked="http://news.lyd.com.cn/a.shtml", page=1, requested="http://news.lyd.com.cn/old_01.shtml")
    writer.write("http://news.lyd.com.cn/gone.shtml", 404, [], b"gone", site="lyd",
                 linked="http://news.lyd.com.cn/gone.shtml")
    writer.close()
    assert writer.path.parent == tmp_path / "archive" and writer.path.name.endswith(".warc.gz")
    assert writer.path.stat().st_mode & 0o777 == 0o600
    assert writer.path.parent.stat().st_mode & 0o777 == 0o700
    first, cont, gone = read_pages(writer.path)
    assert (first.body, cont.body, gone.body) == (page_body(1), page_body(2), b"gone")
    assert (first.status, gone.status, gone.ok) == (200, 404, False)
    assert first.headers == [("Content-Type", "text/html; charset=gbk"), ("Set-Cookie", "a=1"),
                             ("Set-Cookie", "b=2"), ("Content-Length", str(len(page_body(1))))]
    assert (cont.site, cont.linked, cont.page, cont.requested) == (
        "lyd", "http://news.lyd.com.cn/a.shtml", 1, "http://news.lyd.com.cn/old_01.shtml")
    assert abs(datetime.now(UTC) - first.fetched) < timedelta(minutes=1) and first.fetched <= cont.fetched
    assert read_page(writer.path, cont.offset).body == page_body(2)
    [article] = newest_articles(tmp_path / "archive").values()  # the 404 is no article
    assert article.pages == {"http://news.lyd.com.cn/a.shtml": (writer.path, first.offset),
                             "http://news.lyd.com.cn/a_01.shtml": (writer.path, cont.offset),
                             "http://news.lyd.com.cn/old_01.shtml": (writer.path, cont.offset)}


def test_a_file_cut_anywhere_in_its_last_record_keeps_every_complete_record(tmp_path):
    """What a run killed while writing leaves: warcio alone hands back a short body for a cut record."""
    writer = ArchiveWriter(tmp_path / "whole")
    ends = []
    for n in range(3):
        writer.write(f"http://news.lyd.com.cn/{n}.shtml", 200, [("Content-Type", "text/html")], page_body(n),
                     site="lyd", linked=f"http://news.lyd.com.cn/{n}.shtml")
        ends.append(writer.size)
    writer.close()
    data = writer.path.read_bytes()
    cut_dir = tmp_path / "cut" / "archive"
    cut_dir.mkdir(parents=True)
    cut_file = cut_dir / writer.path.name
    outcomes = set()
    for cut in range(ends[1], ends[2], 3):
        cut_file.write_bytes(data[:cut])
        pages, damaged = [], None
        try:
            for page in read_pages(cut_file):
                pages.append(page)
        except ArchiveDamaged as exc:
            damaged = exc
        # Every page handed out is whole; the two written before the cut always are.
        assert [p.body for p in pages] == [page_body(n) for n in range(len(pages))]
        assert len(pages) >= 2, cut
        outcomes.add((len(pages), damaged is not None))
        if len(pages) == 2 and cut > ends[1]:
            assert damaged is not None and str(cut_file) in str(damaged), cut
        found = []
        assert set(newest_articles(cut_dir, damaged=found)) >= {f"http://news.lyd.com.cn/{n}.shtml" for n in (0, 1)}
    # Cut inside the last record's gzip member: reported; cut inside its 8-byte trailer only: the body is whole.
    assert (2, True) in outcomes and (3, False) in outcomes


# The hand-written writer against the warcio-based one it replaced: the old write path, kept here only as the
# reference. warcio's own WARCWriter is told the record IDs and dates the new writer drew (the only parts of a
# record that change from one write to the next); everything else it computes itself.

class ReferenceWARCWriter(WARCWriter):
    def __init__(self, out, ids, dates):
        super().__init__(out, gzip=True, warc_version="1.1")
        self.ids, self.dates = iter(ids), iter(dates)

    def _make_warc_id(self):
        return next(self.ids)

    def curr_warc_date(self):
        return next(self.dates)


def warcio_archive_write(writer: WARCWriter, url, status, headers, body, *, site, linked, page=0, requested=None):
    """ArchiveWriter.write as it was with warcio (commit ee074fd)."""
    dropped = {"transfer-encoding", "content-encoding", "content-length"}
    kept = [(k, v) for k, v in headers if k.lower() not in dropped]
    kept.append(("Content-Length", str(len(body))))
    http = StatusAndHeaders(f"{status} {REASONS.get(status, 'Unknown')}", kept, protocol="HTTP/1.1")
    extra = {SITE: site or "", LINKED: linked or "", PAGE: str(page)}
    if requested and requested != url:
        extra[REQUESTED] = requested
    record = writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body),
                                       http_headers=http, warc_headers_dict=extra)
    writer.write_record(record)


def gzip_members(data: bytes) -> list[bytes]:
    members = []
    while data:
        member = zlib.decompressobj(zlib.MAX_WBITS | 16)
        members.append(member.decompress(data))
        assert member.eof
        data = member.unused_data
    return members


def every_record(path: Path) -> list[tuple]:
    """Each record as warcio reads it, digests checked: its WARC headers, HTTP status and headers, content."""
    with path.open("rb") as fh:
        return [(r.rec_type, r.rec_headers.headers, r.http_headers and (r.http_headers.protocol,
                 r.http_headers.statusline, r.http_headers.headers), r.content_stream().read())
                for r in ArchiveIterator(fh, check_digests="raise")]


LATIN1 = "新闻 café".encode().decode("latin-1")  # how a UTF-8 header value arrives: latin-1 text of its bytes
TRICKY_PAGES = [
    ("http://news.lyd.com.cn/a.shtml", 200,
     [("Server", "nginx"), ("Content-Type", "text/html; charset=gbk"), ("Transfer-Encoding", "chunked"),
      ("Content-Encoding", "gzip"), ("Content-Length", "17"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
     page_body(1), {"site": "lyd", "linked": "http://news.lyd.com.cn/a.shtml"}),
    # Non-ASCII values: whole, in a quoted parameter beside an ASCII one, in a `;` list with no parameter.
    ("http://news.lyd.com.cn/b.shtml", 200,
     [("X-Title", LATIN1), ("Content-Disposition", f'attachment; charset=gbk; filename="{LATIN1}.html"'),
      ("X-List", f"a; {LATIN1}"), ("Content-Type", "text/html")],
     page_body(2), {"site": "lyd", "linked": "http://news.lyd.com.cn/b.shtml"}),
    ("http://news.lyd.com.cn/empty.shtml", 200, [("Content-Type", "text/html")], b"",
     {"site": "lyd", "linked": "http://news.lyd.com.cn/empty.shtml"}),
    ("http://news.lyd.com.cn/none.shtml", 204, [], b"", {"site": None, "linked": None}),
    ("http://news.lyd.com.cn/odd.shtml", 599, [("Content-Type", "text/plain")], b"odd",
     {"site": "lyd", "linked": "http://news.lyd.com.cn/odd.shtml"}),
    ("http://news.lyd.com.cn/a_01.shtml", 200, [("Content-Type", "text/html")], page_body(3),
     {"site": "lyd", "linked": "http://news.lyd.com.cn/a.shtml", "page": 1,
      "requested": "http://news.lyd.com.cn/old_01.shtml"}),
    ("http://news.lyd.com.cn/a_02.shtml", 200, [("Content-Type", "text/html")], page_body(4),
     {"site": "lyd", "linked": "http://news.lyd.com.cn/新闻.shtml", "page": 2,
      "requested": "http://news.lyd.com.cn/a_02.shtml"}),  # the same URL: no Newscrawler-Requested
    ("http://news.lyd.com.cn/big.shtml", 200, [("Content-Type", "text/html")],
     b"".join(page_body(n) for n in range(400))[: 1 << 20], {"site": "lyd", "linked": "http://news.lyd.com.cn/big.shtml"}),
]


def test_records_are_what_the_warcio_writer_wrote_and_read_back_the_same(tmp_path):
    writer = ArchiveWriter(tmp_path / "new", {"spider": "portal", "run": "r1", "empty": ""})
    for url, status, headers, body, kw in TRICKY_PAGES:
        writer.write(url, status, headers, body, **kw)
    writer.close()
    new = writer.path.read_bytes()
    members = gzip_members(new)
    assert len(members) == 1 + len(TRICKY_PAGES)  # the warcinfo record, then one gzip member per page
    ids = re.findall(rb"WARC-Record-ID: (<urn:uuid:[0-9a-f-]{36}>)\r\n", b"".join(members))
    dates = re.findall(rb"WARC-Date: (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z)\r\n", b"".join(members))
    assert len(ids) == len(dates) == len(members) and len(set(ids)) == len(ids)

    reference = tmp_path / "reference" / writer.path.name
    reference.parent.mkdir()
    with reference.open("wb") as fh:
        old = ReferenceWARCWriter(fh, [i.decode() for i in ids], [d.decode() for d in dates])
        old.write_record(old.create_warcinfo_record(writer.path.name, {
            "software": "newscrawler", "format": "WARC File Format 1.1", "spider": "portal", "run": "r1",
            "empty": ""}))
        for url, status, headers, body, kw in TRICKY_PAGES:
            warcio_archive_write(old, url, status, headers, body, **kw)
    # Byte for byte, record by record (gzip members compared decompressed: the compressed bytes may depend on
    # how the input was fed to zlib).
    assert members == gzip_members(reference.read_bytes())
    assert every_record(writer.path) == every_record(reference)
    pages = list(read_pages(writer.path))
    # (Offsets left out: they are where a gzip member lies in its file, not what the record holds.)
    assert [{**vars(p), "path": None, "offset": None} for p in pages] == [
        {**vars(p), "path": None, "offset": None} for p in read_pages(reference)]

    # What the cases are about, read back.
    by_url = {p.url: p for p in pages}
    # warcio %-encodes the UTF-8 of the latin-1 text: a value sent in UTF-8 reads back encoded twice.
    twice = "%C3%A6%C2%96%C2%B0%C3%A9%C2%97%C2%BB%20caf%C3%83%C2%A9"
    headers = dict(by_url["http://news.lyd.com.cn/b.shtml"].headers)
    assert (headers["X-Title"], headers["X-List"]) == (twice, f"a%3B%20{twice}")
    assert headers["Content-Disposition"] == f"attachment; charset*=UTF-8''gbk; filename*=UTF-8''{twice}.html"
    assert (by_url["http://news.lyd.com.cn/empty.shtml"].body, by_url["http://news.lyd.com.cn/none.shtml"].site) == (
        b"", None)
    big = TRICKY_PAGES[-1][3]
    assert by_url["http://news.lyd.com.cn/big.shtml"].body == big and len(big) == 1 << 20
    assert by_url["http://news.lyd.com.cn/odd.shtml"].status == 599
    assert (by_url["http://news.lyd.com.cn/a_01.shtml"].requested, by_url["http://news.lyd.com.cn/a_02.shtml"].requested,
            by_url["http://news.lyd.com.cn/a_02.shtml"].linked) == (
        "http://news.lyd.com.cn/old_01.shtml", None, "http://news.lyd.com.cn/新闻.shtml")
    assert b"HTTP/1.1 599 Unknown\r\n" in members[5]

    # Cut inside the 1 MB record's gzip member, from its first bytes to just before its 8-byte trailer: damaged,
    # every record before it read.
    start = pages[-1].offset
    for cut in (start + 10, start + 200, (start + len(new)) // 2, len(new) - 20):
        cut_file = tmp_path / "cut" / f"{cut}.warc.gz"
        cut_file.parent.mkdir(exist_ok=True)
        cut_file.write_bytes(new[:cut])
        read = []
        with pytest.raises(ArchiveDamaged):
            for page in read_pages(cut_file):
                read.append(page)
        assert [p.url for p in read] == [p.url for p in pages[:-1]], cut


def test_warc_dates_are_written_as_warcio_wrote_them():
    for micros in (0, 1, 456789):
        when = datetime(2026, 1, 2, 3, 4, 5, micros, tzinfo=UTC)
        assert _warc_date(when) == datetime_to_iso_date(when.replace(tzinfo=None), use_micros=True)
    assert _warc_date(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"


def test_a_header_name_that_is_not_ascii_fails_the_write_as_it_did_with_warcio(tmp_path):
    writer = ArchiveWriter(tmp_path)
    writer.write("http://news.lyd.com.cn/a.shtml", 200, [], b"a", site="lyd", linked=None)
    size = writer.size
    with pytest.raises(UnicodeEncodeError):
        writer.write("http://news.lyd.com.cn/b.shtml", 200, [("X-caf\xe9", "1")], b"b", site="lyd", linked=None)
    with pytest.raises(UnicodeEncodeError):
        warcio_archive_write(WARCWriter(BytesIO(), gzip=True, warc_version="1.1"), "http://news.lyd.com.cn/b.shtml",
                             200, [("X-caf\xe9", "1")], b"b", site="lyd", linked=None)
    writer.close()
    assert writer.size == size and [p.url for p in read_pages(writer.path)] == ["http://news.lyd.com.cn/a.shtml"]


def test_prune_deletes_only_archive_files_older_than_the_retention(tmp_path):
    old, recent, other = (tmp_path / n for n in ("20240101T021500Z-1.warc.gz", "20240301T021500Z-2.warc.gz",
                                                   "notes.txt"))
    for path in (old, recent, other):
        path.write_bytes(b"x")
    now = time.time()
    os.utime(old, (now - 40 * 86400, now - 40 * 86400))
    os.utime(other, (now - 40 * 86400, now - 40 * 86400))
    os.utime(recent, (now - 29 * 86400, now - 29 * 86400))
    assert prune(tmp_path, 0) == [] and old.exists()
    assert prune(tmp_path, 30) == [old]
    assert not old.exists() and recent.exists() and other.exists()
    assert archive_files(tmp_path) == [recent]
    assert [keep_days(v) for v in ("30", 7, "", "0", "-3", "thirty")] == [30, 7, 0, 0, 0, 0]


def test_store_write_of_reprocessed_items_updates_what_changed_and_nothing_else(store):
    fetched = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    item = {"url": "http://news.dahe.cn/2024/06-12/1.html", "canonicalUrl": "http://news.dahe.cn/2024/06-12/1.html",
            "urls": ["http://news.dahe.cn/2024/06-12/1.html"], "site": "dahe", "headline": "标题",
            "articleBody": "正文" * 20, "description": "摘要", "fetchedAt": fetched}
    assert store.articles.write([item]).new == 1
    stored = store.articles.find(item["url"])
    # A field that is not versioned: written, no version, lastSeen and the fetch fields left alone.
    later = {**item, "description": "更好的摘要", "fetchedAt": fetched + timedelta(days=3)}
    counts = store.articles.write([later], refetched=False)
    assert (counts.updated, counts.changed, counts.versioned) == (1, {item["canonicalUrl"]: ["description"]}, [])
    doc = store.articles.find(item["url"])
    assert doc["description"] == "更好的摘要" and "versions" not in doc
    assert (doc["lastSeen"], doc["fetchedAt"]) == (stored["lastSeen"], stored["fetchedAt"])
    # A versioned one: a version marked as reprocessed.
    counts = store.articles.write([{**later, "editor": "王五"}], refetched=False)
    assert counts.changed == {item["canonicalUrl"]: ["editor"]} and counts.versioned == [item["canonicalUrl"]]
    [version] = store.articles.find(item["url"])["versions"]
    assert version["changed"] == ["editor"] and version["reprocessed"] is True
    # The same again: nothing written.
    before = store.articles.find(item["url"])
    counts = store.articles.write([{**later, "editor": "王五"}], refetched=False)
    assert (counts.unchanged, counts.changed) == (1, {}) and store.articles.find(item["url"]) == before


# -- real processes: crawl, extractor change, reprocess ---------------------------------------------------------

# Kills the reprocess (SIGKILL, nothing flushed or closed) right after the store wrote a batch holding its third
# new version; batches of 4 articles, so the run is cut short half-way.
KILL_AFTER_THREE_VERSIONS = """
import os, signal
import newscrawler.settings
from newscrawler.store.articles import ArticleRoom
newscrawler.settings.STORE_BATCH_SIZE = 4
_write, _versions = ArticleRoom.write, []
def write(self, items, **kw):
    counts = _write(self, items, **kw)
    _versions.extend(counts.versioned)
    if len(_versions) >= 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return counts
ArticleRoom.write = write
"""


def override_profiles(directory: Path) -> Path:
    """The extractor change: dahe's editor selector picks the headline (every dahe article), and lyd gains a
    source selector that matches only on pages with a 下一页 pager (its multi-page articles)."""
    directory.mkdir()
    dahe = (BUILTIN_DIR / "dahe.toml").read_text(encoding="utf-8")
    assert 'editor = "p#editor_baidu"' in dahe
    (directory / "dahe.toml").write_text(dahe.replace('editor = "p#editor_baidu"', "editor = '//h1[@id=\"4g_title\"]'"),
                                         encoding="utf-8")
    lyd = (BUILTIN_DIR / "lyd.toml").read_text(encoding="utf-8")
    assert "[selectors]" not in lyd
    (directory / "lyd.toml").write_text(lyd + "\n[selectors]\nsource = '//div[@id=\"pages\"]/preceding::h1'\n",
                                        encoding="utf-8")
    return directory


def articles(db) -> dict[str, dict]:
    return {d["url"]: d for d in db.articles.find({}, {"_id": 0})}


def report(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    base = tmp_path_factory.mktemp("replay")
    return base, generate(base / "v1", articles_per_site=20), generate(base / "v2", articles_per_site=20, version=2)


@pytest.fixture(scope="module")
def history(recordings, mongo_uri, tmp_path_factory):
    """One data directory through: crawl → reprocess (no change) → extractor change → reprocess killed half-way
    → reprocess → reprocess again; a snapshot of the articles and what was printed after each step."""
    base, v1, _ = recordings
    data = tmp_path_factory.mktemp("data")
    env = {"MONGO_URI": mongo_uri, "NEWSCRAWLER_DB": f"test_archive_{uuid.uuid4().hex[:8]}"}
    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    db = client[env["NEWSCRAWLER_DB"]]
    changed_env = {**env, "NEWSCRAWLER_PROFILES": str(override_profiles(tmp_path_factory.mktemp("p") / "profiles"))}
    h: dict = {"data": data, "env": env, "changed_env": changed_env, "db": db, "manifest": v1}
    with ReplayServer(base / "v1") as server:
        h["crawl"] = newscrawler(data, "crawl", "--replay", server.proxy_url, env=env)
        h["served"] = server.counts
        h["crawled"] = articles(db)
        # From here on the replay proxy is set but must not be asked for anything: reprocess fetches nothing.
        server.reset_counts()
        offline = {"http_proxy": server.proxy_url}
        h["same"] = newscrawler(data, "reprocess", "--json", env={**env, **offline})
        h["after_same"] = articles(db)
        h["killed"] = newscrawler(data, "reprocess", prelude=KILL_AFTER_THREE_VERSIONS, env={**changed_env, **offline})
        h["after_killed"] = articles(db)
        h["full"] = newscrawler(data, "reprocess", "--json", env={**changed_env, **offline})
        h["after_full"] = articles(db)
        h["again"] = newscrawler(data, "reprocess", "--json", env={**changed_env, **offline})
        h["after_again"] = articles(db)
        h["text"] = newscrawler(data, "reprocess", "lyd", "dahe", env={**changed_env, **offline})
        h["served_during_reprocess"] = server.counts
    yield h
    client.drop_database(env["NEWSCRAWLER_DB"])
    client.close()


def affected(manifest: dict) -> set[str]:
    """Independently of the code under test: every dahe article, and the lyd articles of more than one page."""
    return {a["url"] for a in manifest["articles"] if a["site"] == "dahe" or (a["site"] == "lyd" and a["pages"] > 1)}


@pytest.mark.e2e
def test_crawl_archives_every_article_page_and_no_listing_page(history):
    assert history["crawl"].returncode == 0, history["crawl"].stderr[-3000:]
    [path] = archive_files(history["data"] / "archive")
    assert path.stat().st_mode & 0o777 == 0o600
    pages = list(read_pages(path))
    manifest = history["manifest"]
    # Redirects are followed before the page is archived: the page is kept under the URL it came from.
    served_article_pages = [u for u in history["served"] if is_article_page(u) and u not in manifest["redirects"]]
    assert sorted(p.url for p in pages) == sorted(served_article_pages)
    assert sum(1 for p in pages if p.page) == sum(a["pages"] - 1 for a in manifest["articles"])
    assert {p.url for p in pages if not p.ok} == set(manifest["not_found"])
    assert all(p.site in PROFILES and p.linked for p in pages)
    assert len(newest_articles(history["data"] / "archive")) == len(manifest["articles"])


@pytest.mark.e2e
def test_reprocess_with_the_same_extractor_changes_nothing(history):
    out = report(history["same"])
    n = len(history["manifest"]["articles"])
    assert out["archived"] == n and out["articles"]["unchanged"] == n
    assert out["articles"]["updated"] == out["articles"]["new"] == out["articles"]["dropped"] == 0
    assert out["changed"] == {} and out["fields"] == {}
    assert history["after_same"] == history["crawled"]  # lastSeen and fetchedAt included


@pytest.mark.e2e
def test_reprocess_fetches_nothing(history):
    assert history["served_during_reprocess"] == {}


@pytest.mark.e2e
def test_reprocess_versions_exactly_the_articles_the_change_affects(history):
    manifest, crawled, after = history["manifest"], history["crawled"], history["after_full"]
    expected = affected(manifest)
    assert 20 < len(expected) < len(manifest["articles"]) / 2
    assert set(after) == set(crawled)  # multi-page articles stay one article each; nothing new
    assert {url for url, doc in after.items() if doc.get("versions")} == expected
    for url in set(after) - expected:
        assert after[url] == crawled[url], url
    by_url = {a["url"]: a for a in manifest["articles"]}
    for url in expected:
        doc, before = after[url], crawled[url]
        [version] = doc["versions"]
        assert version["reprocessed"] is True and version["previousBodyHash"] == before["bodyHash"]
        field = "editor" if doc["site"] == "dahe" else "source"
        assert version["changed"] == [field]
        assert squash(doc[field]) == squash(by_url[url]["headline"])
        assert doc["lastSeen"] == before["lastSeen"] and doc["fetchedAt"] == before["fetchedAt"]
        # Nothing else moved.
        assert {k: v for k, v in doc.items() if k not in (field, "sourceRaw", "versions", "updatedAt")} == {
            k: v for k, v in before.items() if k not in (field, "sourceRaw")}
        if doc["site"] == "lyd":  # the last paragraph is on the last page
            assert squash(by_url[url]["bodyParagraphs"][-1]) in squash(doc["articleBody"])


@pytest.mark.e2e
def test_a_killed_reprocess_run_again_finishes_without_doing_anything_twice(history):
    assert history["killed"].returncode == -9
    expected = affected(history["manifest"])
    done_before = {url for url, doc in history["after_killed"].items() if doc.get("versions")}
    assert 3 <= len(done_before) < len(expected)
    out = report(history["full"])
    assert set(out["changed"]) | done_before == expected
    assert not set(out["changed"]) & done_before
    assert all(len(doc["versions"]) == 1 for url, doc in history["after_full"].items() if url in expected)
    # The report: fields per article, counts per field.
    assert all(change["version"] for change in out["changed"].values())
    counts: dict[str, int] = {}
    for change in out["changed"].values():
        for name in change["fields"]:
            counts[name] = counts.get(name, 0) + 1
    assert out["fields"] == counts and set(counts) <= {"editor", "source", "sourceRaw"}
    assert out["articles"]["updated"] == out["articles"]["versioned"] == len(out["changed"])


@pytest.mark.e2e
def test_a_second_reprocess_changes_nothing(history):
    out = report(history["again"])
    assert out["articles"]["updated"] == 0 and out["changed"] == {}
    assert history["after_again"] == history["after_full"]


@pytest.mark.e2e
def test_reprocess_is_recorded_and_reported(history):
    full = report(history["full"])
    run = history["db"].crawl_runs.find_one({"_id": bson.ObjectId(full["run"])})
    assert (run["spider"], run["status"], run["exitCode"]) == ("reprocess", "ok", 0)
    assert run["fieldsChanged"] == full["fields"] and run["articles"]["updated"] == len(full["changed"])
    # The killed run's record: the next run marked it abandoned (its process was gone).
    killed = history["db"].crawl_runs.find_one({"spider": "reprocess", "status": "abandoned"})
    assert killed is not None and "abandoned" in killed["message"]
    assert not list(history["db"].crawl_runs.find({"status": "running"}))
    text = history["text"]  # `reprocess lyd dahe` after everything: the plain-text report
    assert text.returncode == 0, text.stderr[-2000:]
    lyd_dahe = sum(1 for a in history["manifest"]["articles"] if a["site"] in ("lyd", "dahe"))
    assert f"{lyd_dahe} archived articles" in text.stdout
    assert "updated 0 (0 with a new version)" in text.stdout and "changed fields" not in text.stdout


@pytest.mark.e2e
def test_reprocess_refuses_unknown_sites_and_bad_dates(history, tmp_path):
    env = history["env"]
    out = newscrawler(tmp_path, "reprocess", "nosuchportal", env=env)
    assert out.returncode == 2 and "nosuchportal" in out.stderr
    out = newscrawler(tmp_path, "reprocess", "--since", "yesterday", env=env)
    assert out.returncode == 2 and "yesterday" in out.stderr
    out = newscrawler(tmp_path, "reprocess", env=env)  # an empty data directory
    assert out.returncode == 1 and "nothing to reprocess" in out.stderr


@pytest.mark.e2e
def test_since_and_until_select_by_fetch_time(history):
    data, env = history["data"], history["env"]
    later = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    out = newscrawler(data, "reprocess", "--since", later, env=env)
    assert out.returncode == 1 and "nothing to reprocess" in out.stderr
    out = report(newscrawler(data, "reprocess", "lyd", "--until", later, "--json", env=env))
    assert out["archived"] == sum(1 for a in history["manifest"]["articles"] if a["site"] == "lyd")


@pytest.mark.e2e
def test_archive_files_past_retention_are_pruned_when_a_run_starts(history, recordings):
    data, env = history["data"], history["env"]
    archive = data / "archive"
    [current] = archive_files(archive)
    old = archive / "20200101T021500Z-1.warc.gz"
    shutil.copy(current, old)
    stamp = time.time() - 40 * 86400
    os.utime(old, (stamp, stamp))
    with ReplayServer(recordings[0] / "v1") as server:
        kept = newscrawler(data, "crawl", "--replay", server.proxy_url, env=env)  # no retention: keeps everything
        assert kept.returncode == 0, kept.stderr[-2000:]
        assert old.exists()
        pruned = newscrawler(data, "crawl", "--replay", server.proxy_url,
                             env={**env, "NEWSCRAWLER_ARCHIVE_DAYS": "30"})
    assert pruned.returncode == 0, pruned.stderr[-2000:]
    assert not old.exists() and archive_files(archive) == [current]  # nothing new was fetched: no new file


@pytest.mark.e2e
def test_an_article_fetched_again_without_the_archive_is_never_turned_back(history, recordings):
    """A --recheck run with archiving off stores an edit the archive does not hold; reprocess keeps it."""
    base, _, v2 = recordings
    data, env, db = history["data"], history["env"], history["db"]
    [edit] = v2["changed"]
    files_before = archive_files(data / "archive")
    with ReplayServer(base / "v2") as server:
        recheck = newscrawler(data, "crawl", "--recheck", "--replay", server.proxy_url,
                              env={**env, "NEWSCRAWLER_ARCHIVE": "0"})
        assert recheck.returncode == 0, recheck.stderr[-2000:]
        assert server.count(edit["url"]) == 1
    assert archive_files(data / "archive") == files_before  # archiving off: no file
    edited = db.articles.find_one({"url": edit["url"]})
    assert squash(edit["after"]) in squash(edited["articleBody"])
    before = articles(db)
    by_any_url = {u: doc for doc in before.values() for u in doc["urls"]}
    archived = newest_articles(data / "archive")
    # (By the URL linked: a re-fetch through another link to the same article stores that link as `url`.)
    refetched = {by_any_url[key]["url"] for key, a in archived.items()
                 if by_any_url[key]["fetchedAt"] > a.fetched + timedelta(seconds=1)}
    assert edit["url"] in refetched
    # Runs here are seconds apart, so the same-fetch margin (a minute, for runs hours apart) is made a second.
    out = report(newscrawler(data, "reprocess", "--json", env=env,
                             prelude="import datetime, newscrawler.spiders.reprocess as r\n"
                                     "r.SAME_FETCH = datetime.timedelta(seconds=1)"))
    assert out["articles"]["storedLater"] == len(refetched)
    after = articles(db)
    for url in refetched:
        assert after[url] == before[url], url
    assert squash(edit["after"]) in squash(after[edit["url"]]["articleBody"])


@pytest.mark.e2e
def test_reprocess_uses_every_complete_record_of_a_file_cut_short(history, mongo_uri, tmp_path):
    """A crawl killed while writing its archive: reprocess stores what the complete records hold and says which
    file is damaged (here into an empty database, so each archived article comes out new)."""
    [source] = archive_files(history["data"] / "archive")
    data = tmp_path / "data"
    (data / "archive").mkdir(parents=True)
    cut = data / "archive" / source.name
    cut.write_bytes(source.read_bytes()[: source.stat().st_size * 3 // 5])
    complete = []
    with pytest.raises(ArchiveDamaged):
        for page in read_pages(cut):
            complete.append(page)
    groups = newest_articles(data / "archive")
    assert 0 < len(groups) < len(history["manifest"]["articles"])
    env = {"MONGO_URI": mongo_uri, "NEWSCRAWLER_DB": f"test_archive_cut_{uuid.uuid4().hex[:8]}"}
    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    try:
        out = report(newscrawler(data, "reprocess", "--json", env=env))
        assert out["archived"] == len(groups) and out["articles"]["new"] == len(groups)
        assert out["damagedFiles"] and str(cut) in out["damagedFiles"][0]
        assert client[env["NEWSCRAWLER_DB"]].articles.count_documents({}) == len(groups)
    finally:
        client.drop_database(env["NEWSCRAWLER_DB"])
        client.close()


@pytest.mark.e2e
def test_a_crawl_whose_archive_cannot_be_written_goes_on(recordings, mongo_uri, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "archive").write_text("in the way")  # the archive directory cannot be made
    env = {"MONGO_URI": mongo_uri, "NEWSCRAWLER_DB": f"test_archive_blocked_{uuid.uuid4().hex[:8]}"}
    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    try:
        with ReplayServer(recordings[0] / "v1") as server:
            out = newscrawler(data, "crawl", "lyd", "--replay", server.proxy_url, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        # Said once, in the run's log (a successful run prints nothing when stdout is not a terminal).
        log = "".join(p.read_text(encoding="utf-8") for p in (data / "logs").glob("crawl-*.log"))
        assert len(re.findall(r"archive: cannot write .*archive", log)) == 1
        stored = client[env["NEWSCRAWLER_DB"]].articles.count_documents({})
        assert stored == sum(1 for a in recordings[1]["articles"] if a["site"] == "lyd")
    finally:
        client.drop_database(env["NEWSCRAWLER_DB"])
        client.close()
