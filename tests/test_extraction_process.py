"""The crawl's extraction process (newscrawler/extensions/extraction.py): a real worker process over a socket pair,
on pages of a replay recording. It must give what extract() gives in place; a worker that dies or hangs costs the
page it was on and nothing else; after too many deaths the crawl extracts in place."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest

from newscrawler.extensions import extraction
from newscrawler.extensions.extraction import ExtractionWorker, WorkerLost
from newscrawler.extract import extract
from newscrawler.profiles import load_profiles, profile_for_url
from newscrawler_replay.generate import generate


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> list[tuple]:
    """(body, url, headers, profile) of the recording's article pages."""
    rec = tmp_path_factory.mktemp("rec")
    manifest = generate(rec, articles_per_site=3)
    routes = {r["url"]: r for r in json.loads((rec / "routes.json").read_text())["routes"]}
    profiles = load_profiles()
    out = []
    for a in manifest["articles"]:
        route = routes[a["url"]]
        out.append(((rec / "pages" / route["file"]).read_bytes(), a["url"], {"Content-Type": route["contentType"]},
                    profile_for_url(a["url"], profiles)))
    return out


def run(coro):
    return asyncio.run(coro)


def test_the_worker_gives_what_extract_gives_in_place(pages):
    async def main():
        worker = ExtractionWorker(timeout=60)
        try:
            return await asyncio.gather(*(worker.extract(*p) for p in pages)), worker.restarts
        finally:
            worker.close()

    got, restarts = run(main())
    assert restarts == 0
    assert got == [extract(b, u, headers=h, profile=p) for b, u, h, p in pages]
    assert all(a.isArticle and a.headline and a.articleBody for a in got) and len(got) == len(pages) > 10


def test_the_worker_normalises_as_the_normalise_stage_does_in_place(pages):
    """The normalise stage sends only the fields normalise_item reads (READS): what comes back must be what
    normalise_item makes of the whole item, Traditional pages included, with dedup's sketch as dedup makes it."""
    from dataclasses import asdict

    import opencc

    from newscrawler.dedup.engine import sketch
    from newscrawler.normalise.article import READS, normalise_item

    to_traditional = opencc.OpenCC("s2t").convert

    items = []
    for body, url, headers, profile in pages:
        item = asdict(extract(body, url, headers=headers, profile=profile))
        item["site"] = profile.site
        items.append((item, profile))
    # A Traditional copy: the script conversion and the Simplified fields must come back too.
    trad = dict(items[0][0], articleBody=to_traditional(items[0][0]["articleBody"]), script="Hant",
                headline=to_traditional(items[0][0]["headline"]))
    items.append((trad, items[0][1]))

    async def main():
        worker = ExtractionWorker(timeout=60)
        try:
            return await asyncio.gather(*(worker.normalise({k: it[k] for k in READS if k in it}, p)
                                          for it, p in items))
        finally:
            worker.close()

    got = run(main())
    for (item, profile), fields in zip(items, got, strict=True):
        whole = normalise_item(dict(item), profile)
        assert {k: v for k, v in fields.items() if k != "matchSketch"} == {k: whole[k] for k in fields
                                                                           if k != "matchSketch"}
        assert set(whole) - set(item) <= set(fields)  # every field normalisation adds comes back
        made = fields["matchSketch"]
        assert made == sketch(whole) and made["bands"] and made["sig"]
    assert got[-1]["articleBodySimplified"] == got[0]["articleBody"] != got[-1]["articleBody"]


def test_the_worker_makes_the_archive_records_the_crawler_would(pages, tmp_path):
    """The archive's records made in the worker, appended in order, read back as those written in place."""
    from datetime import UTC, datetime

    from newscrawler.archive import ArchiveWriter, read_pages

    when = datetime(2026, 11, 27, 8, 30, 1, 123456, tzinfo=UTC)
    extra = [{"site": p.site, "linked": u, "page": 0, "requested": None, "when": when} for _, u, _, p in pages]
    headers = [list(h.items()) + [("X-Note", "é")] for _, _, h, _ in pages]

    async def main():
        worker = ExtractionWorker(timeout=60)
        try:
            return await asyncio.gather(*(worker.archive_record(u, 200, hs, b, x)
                                          for (b, u, _, _), hs, x in zip(pages, headers, extra, strict=True)))
        finally:
            worker.close()

    made = ArchiveWriter(tmp_path / "worker")
    for member in run(main()):
        made.append(member)
    made.close()
    here = ArchiveWriter(tmp_path / "here")
    for (b, u, _, _), hs, x in zip(pages, headers, extra, strict=True):
        here.write(u, 200, hs, b, site=x["site"], linked=x["linked"], requested=None)
    here.close()
    got, expected = list(read_pages(made.path)), list(read_pages(here.path))
    assert len(got) == len(pages) == made.pages
    for a, b in zip(got, expected, strict=True):
        assert (a.url, a.body, a.headers, a.site, a.linked) == (b.url, b.body, b.headers, b.site, b.linked)
        assert a.fetched == when


def test_a_page_the_worker_cannot_read_fails_alone_with_its_reason(pages):
    """The exception comes back as extract() raises it in place (CharsetError: the spider counts its class)."""
    from newscrawler.extract.charset import CharsetError

    bad = (bytes(range(256)) * 50, "http://www.jzrb.com/x.html", {"Content-Type": "text/html; charset=utf-8"}, None)

    async def main():
        worker = ExtractionWorker(timeout=60)
        try:
            return await asyncio.gather(worker.extract(*bad), worker.extract(*pages[0]), return_exceptions=True)
        finally:
            worker.close()

    failed, ok = run(main())
    assert ok == extract(pages[0][0], pages[0][1], headers=pages[0][2], profile=pages[0][3])
    with pytest.raises(CharsetError) as in_place:
        extract(bad[0], bad[1], headers=bad[2])
    assert type(failed) is CharsetError and str(failed) == str(in_place.value)


def test_a_worker_that_dies_costs_the_page_it_was_on_and_the_rest_go_to_a_new_one(pages, caplog):
    async def main():
        worker = ExtractionWorker(timeout=60)
        try:
            await worker._start()
            tasks = [asyncio.ensure_future(worker.extract(*p)) for p in pages[:5]]
            await asyncio.sleep(0)  # all five sent; the worker is still starting, so none is answered
            os.kill(worker._proc.pid, signal.SIGKILL)
            return await asyncio.gather(*tasks, return_exceptions=True), worker.restarts
        finally:
            worker.close()

    results, restarts = run(main())
    assert restarts == 1
    assert isinstance(results[0], WorkerLost)
    assert pages[0][1] in str(results[0]) and "died (exit status -9)" in str(results[0])
    assert results[1:] == [extract(b, u, headers=h, profile=p) for b, u, h, p in pages[1:5]]
    assert "a new one takes the 4 pages waiting" in caplog.text


def test_a_page_that_hangs_the_worker_is_given_up_and_after_too_many_the_crawl_extracts_in_place(pages, monkeypatch,
                                                                                                  caplog):
    """A timeout shorter than the worker's start: every worker is taken for hung on its first page. Each costs one
    page; after MAX_RESTARTS the remaining pages are extracted in place and later ones too."""
    monkeypatch.setattr(extraction, "WATCH_EVERY", 0.01)
    monkeypatch.setattr(extraction, "MAX_RESTARTS", 2)

    async def main():
        worker = ExtractionWorker(timeout=0.02)
        try:
            first = await asyncio.gather(*(worker.extract(*p) for p in pages[:6]), return_exceptions=True)
            later = await worker.extract(*pages[6])
            return first, later, worker
        finally:
            worker.close()

    first, later, worker = run(main())
    failed = [r for r in first if isinstance(r, WorkerLost)]
    assert len(failed) == 3 and all("extraction took more than 0.02 s on this page" in str(r) for r in failed)
    assert [r for r in first if not isinstance(r, Exception)] == [
        extract(b, u, headers=h, profile=p) for (b, u, h, p), r in zip(pages[:6], first, strict=True)
        if not isinstance(r, Exception)]
    assert worker.disabled and later == extract(pages[6][0], pages[6][1], headers=pages[6][2], profile=pages[6][3])
    assert "the rest of the crawl extracts pages in the crawler itself" in caplog.text


def test_the_worker_exits_when_the_crawl_closes_it(pages):
    async def main():
        worker = ExtractionWorker(timeout=60)
        await worker.extract(*pages[0])
        proc = worker._proc
        worker.close()
        return proc

    proc = run(main())
    assert proc.returncode == 0  # it saw its input end; not killed
    assert not Path(f"/proc/{proc.pid}").exists() or proc.poll() is not None


def test_time_the_crawls_own_loop_was_held_up_is_not_counted_against_the_page(pages, monkeypatch):
    """The loop blocked (a write at the crawl's close) cannot read answers meanwhile: no page is given up for it."""
    monkeypatch.setattr(extraction, "WATCH_EVERY", 0.05)

    async def main():
        # Loose enough for a loaded machine (the suite's six workers on two cores) to answer three pages in time.
        worker = ExtractionWorker(timeout=3.0)
        try:
            await worker.extract(*pages[0])  # started and answering
            proc = worker._proc
            tasks = [asyncio.ensure_future(worker.extract(*p)) for p in pages[1:4]]
            await asyncio.sleep(0)
            time.sleep(4.0)  # the loop held up past the timeout; the worker answered long ago
            results = await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0.3)  # a worker killed meanwhile would be noticed by now
            return results, worker.restarts, worker._proc is proc and proc.poll() is None
        finally:
            worker.close()

    results, restarts, same_worker = run(main())
    assert restarts == 0 and same_worker
    assert results == [extract(b, u, headers=h, profile=p) for b, u, h, p in pages[1:4]]
