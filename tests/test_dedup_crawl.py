"""Dedup end to end: `newscrawler crawl` over the replayed portals (child process, real Scrapy, real
MongoDB-wire server), then a re-crawl, then the edited page of version 2 imported over it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pymongo
import pytest
from kit import newscrawler

from newscrawler_replay.generate import generate, route_file
from newscrawler_replay.server import ReplayServer

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

REPO = Path(__file__).resolve().parents[1]
VOLATILE = {"_id": 0, "lastSeen": 0, "fetchedAt": 0, "updatedAt": 0, "crawlRun": 0, "httpStatus": 0}


def tagged(manifest: dict, tag: str) -> list[dict]:
    return [a for a in manifest["articles"] if tag in a["special"]]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, mongo_uri):
    base = tmp_path_factory.mktemp("dedup-crawl")
    v1 = generate(base / "v1", articles_per_site=8)
    v2 = generate(base / "v2", articles_per_site=8, version=2)
    env = {"MONGO_URI": mongo_uri, "NEWSCRAWLER_DB": f"test_dcrawl_{uuid.uuid4().hex[:8]}"}
    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    db = client[env["NEWSCRAWLER_DB"]]

    def snapshot():
        return (sorted(db.articles.find({}, VOLATILE), key=lambda d: d["canonicalUrl"]),
                sorted(db.clusters.find({}, {"updatedAt": 0}), key=lambda d: d["_id"]),
                db.fingerprints.count_documents({}))

    with ReplayServer(base / "v1") as server:
        first = newscrawler(base / "data", "crawl", "--replay", server.proxy_url, env=env)
        after_first = snapshot()
        second = newscrawler(base / "data", "crawl", "--replay", server.proxy_url, env=env)
        after_second = snapshot()
    yield {"base": base, "v1": v1, "v2": v2, "env": env, "db": db, "runs": (first, second),
           "snapshots": (after_first, after_second)}
    client.drop_database(env["NEWSCRAWLER_DB"])
    client.close()


def article(db, url: str) -> dict:
    doc = db.articles.find_one({"$or": [{"url": url}, {"urls": url}, {"canonicalUrl": url}]})
    assert doc is not None, url
    return doc


def test_crawl_succeeded(crawled):
    for run in crawled["runs"]:
        assert run.returncode == 0, run.stderr[-3000:]


def test_syndicated_story_on_two_portals_is_one_cluster_with_two_urls(crawled):
    db, v1 = crawled["db"], crawled["v1"]
    [original], [copy] = tagged(v1, "syndicated-original"), tagged(v1, "syndicated-copy")
    a, b = article(db, original["url"]), article(db, copy["url"])
    assert a["site"] == "dahe" and b["site"] == "jzrb"
    assert a["cluster"] == b["cluster"]
    assert b["dedup"] == "near" and b["duplicateOf"] == a["canonicalUrl"] or a["dedup"] == "near"
    cluster = db.clusters.find_one({"_id": a["cluster"]})
    assert sorted(m["url"] for m in cluster["members"]) == sorted([a["canonicalUrl"], b["canonicalUrl"]])
    assert cluster["canonical"]["url"] == a["canonicalUrl"]  # 大河网's own article


def test_wire_story_on_two_portals_is_one_cluster(crawled):
    db, v1 = crawled["db"], crawled["v1"]
    docs = [article(db, a["url"]) for a in tagged(v1, "syndicated-wire")]
    assert len(docs) == 2 and docs[0]["cluster"] == docs[1]["cluster"]
    assert {d["source"] for d in docs} == {"新华社"}


def test_traditional_copy_joins_the_simplified_one(crawled):
    db, v1 = crawled["db"], crawled["v1"]
    [seed], [trad] = tagged(v1, "seed"), tagged(v1, "traditional")
    s, t = article(db, seed["url"]), article(db, trad["url"])
    assert t["script"] == "Hant" and t["cluster"] == s["cluster"]


def test_daily_template_stories_stay_apart_and_other_stories_are_singletons(crawled):
    db, v1 = crawled["db"], crawled["v1"]
    weather = [article(db, a["url"]) for a in tagged(v1, "daily-template")]
    assert len(weather) >= 2 and len({d["cluster"] for d in weather}) == len(weather)
    # Exactly the three syndicated stories appeared more than once.
    assert db.clusters.count_documents({}) == 3
    stories = {a["story"] for a in v1["articles"]}
    assert len({d["cluster"] for d in db.articles.find({}, {"cluster": 1})}) == len(stories)


def test_second_crawl_changes_nothing(crawled):
    first, second = crawled["snapshots"]
    assert first == second
    assert first[2] == len(first[0])


def test_updated_article_gets_a_version_and_keeps_its_story(crawled):
    base, v2, env, db = crawled["base"], crawled["v2"], crawled["env"], crawled["db"]
    [change] = v2["changed"]
    url = change["url"]
    before = article(db, url)
    page = base / "edited.html"
    page.write_bytes((base / "v2" / "pages" / route_file(url)).read_bytes())
    (base / "map.tsv").write_text(f"edited.html\t{url}\n", encoding="utf-8")
    result = newscrawler(base / "data", "import", str(page), "--url-map", str(base / "map.tsv"), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    after = article(db, url)
    assert after["bodyHash"] != before["bodyHash"]
    [version] = after["versions"]
    assert version["previousBodyHash"] == before["bodyHash"] and "articleBody" in version["changed"]
    assert after["cluster"] == before["cluster"]
    assert db.fingerprints.count_documents({}) == len(crawled["snapshots"][1][0])
