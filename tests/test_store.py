import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import bson
import pymongo
import pytest

from newscrawler.store import Store, StoreError, redact_uri
from newscrawler.store.server import ensure_server, find_running


def article(n, body="第一段。\n第二段。", **extra):
    return {"canonicalUrl": f"http://www.example.cn/{n}.html", "url": f"http://example.cn/{n}.html",
            "site": "demo", "headline": f"标题{n}", "articleBody": body,
            "datePublished": datetime(2024, 3, 23, 12, 21, 2, tzinfo=UTC), "fetchedAt": datetime.now(UTC),
            "urls": [f"http://example.cn/{n}.html"], **extra}


def test_upsert_classifies_new_unchanged_updated_and_records_a_version(store):
    counts = store.articles.write([article(1), article(2)])
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    counts = store.articles.write([article(1), article(2, body="第一段。\n改过的第二段。")], final=True)
    assert (counts.new, counts.updated, counts.unchanged) == (0, 1, 1)
    assert store.articles.count() == 2
    doc = store.articles.find("http://www.example.cn/2.html")
    assert doc["articleBody"].endswith("改过的第二段。")
    [version] = doc["versions"]
    assert version["changed"] == ["articleBody"] and version["previousBodyHash"]
    assert "versions" not in store.articles.find("http://www.example.cn/1.html")
    assert doc["firstSeen"] <= doc["lastSeen"]


def test_same_url_twice_in_one_batch_is_one_article(store):
    store.articles.write([article(1), article(1)])
    assert store.articles.count() == 1


def test_known_urls_include_urls_an_article_was_reached_by(store):
    store.articles.write([article(1)])
    known = store.known_urls(["http://www.example.cn/1.html", "http://example.cn/1.html",
                              "http://www.example.cn/9.html"])
    assert known == {"http://www.example.cn/1.html", "http://example.cn/1.html"}
    assert store.known_urls([]) == set()


def test_stats_per_site_and_per_day_in_portal_time(store):
    late = article(3, datePublished=datetime(2024, 3, 23, 17, 30, tzinfo=UTC))  # 01:30 on the 24th, Shanghai
    store.articles.write([article(1), late])
    stats = store.stats()
    assert stats["articles"] == 2 and stats["perSite"] == {"demo": 2}
    assert stats["perDay"] == {"2024-03-24": 1, "2024-03-23": 1}


def test_run_records(store):
    run_id = store.runs.start({"portals": ["demo"]})
    store.runs.finish(run_id, {"status": "ok", "exitCode": 0})
    last = store.runs.last()
    assert last["_id"] == run_id and last["status"] == "ok" and last["endedAt"] >= last["startedAt"]


@pytest.mark.parametrize("uri, shown", [
    ("mongodb://crawler:s3cr%40t@db.example:27017/news", "mongodb://crawler:***@db.example:27017/news"),
    ("mongodb+srv://u:p@cluster.example/", "mongodb+srv://u:***@cluster.example/"),
    ("mongodb://127.0.0.1:27017/", "mongodb://127.0.0.1:27017/"),
])
def test_redact_uri(uri, shown):
    assert redact_uri(uri) == shown


def test_unreachable_uri_fails_within_seconds_without_the_password():
    start = time.monotonic()
    with pytest.raises(StoreError) as err:
        Store.open(uri="mongodb://crawler:hunter2@127.0.0.1:9/news")
    assert time.monotonic() - start < 10
    assert "hunter2" not in str(err.value) and "crawler:***@127.0.0.1:9" in str(err.value)


@pytest.mark.slow
def test_embedded_server_is_reused_and_data_survives_a_restart(tmp_path):
    first = ensure_server(tmp_path)
    try:
        assert first.owned
        again = ensure_server(tmp_path)  # a second process on the same data dir connects, never reopens
        assert again.uri == first.uri and not again.owned
        client = pymongo.MongoClient(first.client_uri)
        client.t.c.insert_one({"x": 1}, bypass_document_validation=False)
        client.t.c.with_options(write_concern=pymongo.WriteConcern(j=True)).insert_one({"x": 2})
        client.close()
        again.stop()  # the second client is done: it leaves the server to the first (its lease released)
        assert find_running(tmp_path) is not None
    finally:
        first.stop()
    assert find_running(tmp_path) is None
    second = ensure_server(tmp_path)
    try:
        client = pymongo.MongoClient(second.client_uri)
        assert sorted(d["x"] for d in client.t.c.find()) == [1, 2]
        client.close()
    finally:
        second.stop()


@pytest.mark.slow
def test_second_daemon_on_a_locked_directory_is_refused_plainly(tmp_path):
    """The WiredTiger lock: a raw second server exits; ensure_server turns that into a reuse."""
    first = ensure_server(tmp_path)
    try:
        exe = [str(Path(sys.executable).with_name("secantusd-py"))]
        proc = subprocess.run(exe + ["--host", "127.0.0.1", "--port", "0", "--storage-path",
                                     str(tmp_path / "db"), "--standalone"], capture_output=True, timeout=60)
        assert proc.returncode != 0
    finally:
        first.stop()


# Canaries for SecantusDB bugs we code around (notes/mongodb.md): when an upgrade fixes one, this fails
# and the workaround can go.
def test_canary_compiled_regex_on_indexed_field_matches_nothing(store):
    store.articles.write([article(1)])
    assert store.articles.collection.count_documents({"canonicalUrl": {"$regex": "example"}}) == 1
    assert store.articles.collection.count_documents({"canonicalUrl": bson.Regex("example")}) == 0


def test_canary_text_index_unsupported(store):
    with pytest.raises(pymongo.errors.OperationFailure):
        store.articles.collection.create_index([("headline", pymongo.TEXT)])


def test_iso_dates_roundtrip_as_aware_utc(store):
    store.articles.write([article(1)])
    got = store.articles.find("http://www.example.cn/1.html")["datePublished"]
    assert got.tzinfo is not None and got == datetime(2024, 3, 23, 12, 21, 2, tzinfo=UTC)
    assert re.match(r"test_", store.db.name)


def test_an_article_inserted_by_another_writer_after_our_look_up_is_updated_not_duplicated(store, monkeypatch):
    store.articles.write([article(1)])
    # The other writer's insert lands between our look-up and our write: our look-up saw nothing.
    monkeypatch.setattr(store.articles.collection, "find", lambda *a, **k: iter(()))
    counts = store.articles.write([article(2), article(1, body="另一个正文。"), article(3)])
    monkeypatch.undo()
    assert counts.new == 3  # as far as this batch could tell
    assert store.articles.count() == 3
    assert store.articles.find("http://www.example.cn/1.html")["articleBody"] == "另一个正文。"


@pytest.mark.parametrize("snapshot_max", [20_000, 0], ids=["read-once", "asked-each-time"])
def test_dead_links_are_skipped_for_seven_days_whether_read_once_or_asked(store, monkeypatch, snapshot_max):
    from datetime import timedelta

    from newscrawler.store import links
    from newscrawler.store.links import LinkRoom

    monkeypatch.setattr(links, "SNAPSHOT_MAX", snapshot_max)
    store.links.collection.insert_many([
        {"url": "http://a.cn/old.html", "status": 404, "lastTried": datetime.now(UTC) - timedelta(days=8)},
        {"url": "http://a.cn/recent.html", "status": 410, "lastTried": datetime.now(UTC) - timedelta(days=2)}])
    room = LinkRoom(store.links.collection)  # a new crawl's room
    asked = ["http://a.cn/old.html", "http://a.cn/recent.html", "http://a.cn/live.html"]
    assert room.dead(asked) == {"http://a.cn/recent.html"}
    room.record_dead({"http://a.cn/live.html": 404})  # it died during this crawl
    assert room.dead(asked) == {"http://a.cn/recent.html", "http://a.cn/live.html"}
    assert LinkRoom(store.links.collection).dead(asked) == {"http://a.cn/recent.html", "http://a.cn/live.html"}
    assert room.dead(asked, retry_days=1) == {"http://a.cn/live.html"}


def test_counters_written_batch_by_batch_equal_a_recount_even_if_one_is_deleted_meanwhile(store):
    from datetime import timedelta

    def dated(n):
        return article(n, datePublished=datetime(2024, 3, 1, 9, tzinfo=UTC) + timedelta(days=n % 5))

    store.articles.write([dated(n) for n in range(0, 20)])
    store.articles.write([dated(n) for n in range(20, 40)])  # the same five days: counters known, not looked up
    store.counters.daily.delete_one({"_id": "2024-03-02|demo"})  # behind the room's back
    store.articles.write([dated(n) for n in range(40, 60)], final=True)
    kept = (store.counters.days("demo"), store.counters.months("demo"), store.counters.totals())
    store.reindex()
    recount = (store.counters.days("demo"), store.counters.months("demo"), store.counters.totals())
    # The deleted counter came back holding only what was written after the deletion; everything else agrees.
    assert [d for d in kept[0] if d["day"] != "2024-03-02"] == [d for d in recount[0] if d["day"] != "2024-03-02"]
    assert [d["n"] for d in kept[0] if d["day"] == "2024-03-02"] == [4]
    assert [d["n"] for d in recount[0] if d["day"] == "2024-03-02"] == [12]
    assert sum(d["n"] for d in kept[0]) == 60 - 8


def test_processes_opening_a_new_store_at_once_agree_on_its_id(mongo_uri):
    """The store's id (meta.store_id) is made by whoever opens a new database first; the others, racing it, read
    that one (the embedded server answered None to the loser's upsert: a crawl and a `db` command starting
    together failed with a TypeError)."""
    import threading
    import uuid

    from newscrawler.store.meta import MetaRoom

    client = pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        for _ in range(15):
            name = f"test_{uuid.uuid4().hex[:12]}"
            ids: list = []
            clients = [pymongo.MongoClient(mongo_uri, serverSelectionTimeoutMS=5000) for _ in range(6)]

            def open_store(c, name: str, ids: list) -> None:
                try:
                    ids.append(MetaRoom(c[name]).store_id())
                except Exception as exc:  # noqa: BLE001 - the assertion names it
                    ids.append(exc)

            threads = [threading.Thread(target=open_store, args=(c, name, ids)) for c in clients]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for c in clients:
                c.close()
            client.drop_database(name)
            assert len(ids) == 6 and len(set(ids)) == 1 and isinstance(ids[0], str), ids
    finally:
        client.close()
