"""The database goes away mid-run: the unwritten batch is kept in a spill file, nothing is lost, and
`newscrawler db load-spill` puts it back once the database is there again."""

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kit import newscrawler, open_store
from scrapy.utils.test import get_crawler

from newscrawler.extensions.run import EXIT_STORE_FAILED, exit_status
from newscrawler.pipelines.store import StorePipeline
from newscrawler.store import Store
from newscrawler.store.server import ensure_server

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)


def item(n):
    return {"canonicalUrl": f"http://www.example.cn/{n}.html", "url": f"http://www.example.cn/{n}.html",
            "site": "demo", "headline": f"标题{n}", "articleBody": "正文第一段。\n正文第二段。",
            "datePublished": datetime(2024, 3, 23, 12, tzinfo=UTC), "fetchedAt": datetime.now(UTC)}


def store_pipeline(tmp_path: Path, **settings) -> tuple:
    """A StorePipeline on the data directory's embedded server, outside a crawl: (server, crawler, pipeline)."""
    server = ensure_server(tmp_path)
    crawler = get_crawler(settings_dict={"NEWSCRAWLER_DATA_DIR": str(tmp_path), **settings})
    crawler.stats.open_spider()
    pipeline = StorePipeline(crawler)
    pipeline.store = Store.open(uri=server.client_uri)
    return server, crawler, pipeline


def test_database_gone_mid_run_spills_the_batch_and_fails_the_run(tmp_path):
    server, crawler, pipeline = store_pipeline(tmp_path, STORE_BATCH_SIZE=2)

    async def feed():
        for n in range(2):
            await pipeline.process_item(item(n))
        server.stop()  # the database goes away
        for n in range(2, 5):
            await pipeline.process_item(item(n))
        await pipeline.close_spider()

    asyncio.run(feed())
    stats = crawler.stats.get_stats()
    assert stats["articles/new"] == 2 and stats["store/errors"] == 1
    spill = Path(stats["store/spill_file"])
    assert spill.parent == tmp_path / "spill"
    spilled = [json.loads(line) for line in spill.read_text(encoding="utf-8").splitlines()]
    assert [s["canonicalUrl"] for s in spilled] == [item(n)["canonicalUrl"] for n in range(2, 5)]
    code, message = exit_status(stats, {}, "store_failed")
    assert code == EXIT_STORE_FAILED and str(spill) in message
    pipeline.store.client.close()

    # Once the database is back, the spill goes in; dates come back as dates.
    result = newscrawler(tmp_path, "db", "load-spill", str(spill), embedded=True, timeout=120)
    assert result.returncode == 0, result.stderr
    with open_store(tmp_path, embedded=True) as store:
        assert store.articles.count() == 5
        doc = store.articles.find(item(4)["canonicalUrl"])
        assert doc["datePublished"] == datetime(2024, 3, 23, 12, tzinfo=UTC)
    assert not spill.exists() and spill.with_suffix(".jsonl.loaded").exists()


def test_articles_waiting_for_a_batch_are_written_after_store_max_wait(tmp_path):
    """A slow crawl (AutoThrottle, one article every few seconds) must not hold its articles until a batch of
    STORE_BATCH_SIZE fills: they are written STORE_MAX_WAIT seconds after the oldest one arrived."""
    server, crawler, pipeline = store_pipeline(tmp_path, STORE_BATCH_SIZE=500, STORE_MAX_WAIT=0.3)

    async def feed():
        for n in range(3):
            await pipeline.process_item(item(n))
        assert pipeline.store.articles.count() == 0  # waiting for the batch
        await asyncio.sleep(1.5)
        written = pipeline.store.articles.count()
        await pipeline.process_item(item(3))
        await pipeline.close_spider()
        return written

    assert asyncio.run(feed()) == 3
    assert pipeline.store.articles.count() == 4 and crawler.stats.get_value("articles/new") == 4
    pipeline.store.client.close()
    server.stop()
