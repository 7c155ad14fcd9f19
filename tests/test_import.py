"""`newscrawler import` (real Scrapy in a child process) of saved replay pages into a real MongoDB-wire
server: the same pipelines as a crawl, so copies form story clusters; `db clusters --json` shows them."""

from __future__ import annotations

import json
import shutil
import uuid
from io import BytesIO
from pathlib import Path

import pymongo
import pytest
from kit import newscrawler, read

from newscrawler.spiders.importer import read_url_map, site_for
from newscrawler_replay.generate import generate, route_file

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Four saved pages from the replay: a syndicated story (original + copy on another portal) and the
    seed story with its Traditional rendering, under plain file names, plus the URL map."""
    base = tmp_path_factory.mktemp("import")
    manifest = generate(base / "rec", articles_per_site=3)
    wanted = {"syndicated-original": None, "syndicated-copy": None, "seed": None, "traditional": None}
    for a in manifest["articles"]:
        for tag in a["special"]:
            if tag in wanted and wanted[tag] is None:
                wanted[tag] = a
    pages = base / "pages"
    pages.mkdir()
    lines = []
    for tag, a in wanted.items():
        assert a is not None, tag
        shutil.copy(base / "rec" / "pages" / route_file(a["url"]), pages / f"{tag}.html")
        lines.append(f"{tag}.html\t{a['url']}")
    (base / "urls.tsv").write_text("# saved by hand\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return base, wanted


@pytest.fixture(scope="module")
def imported(saved, mongo_uri, tmp_path_factory):
    base, wanted = saved
    env = {"MONGO_URI": mongo_uri, "NEWSCRAWLER_DB": f"test_import_{uuid.uuid4().hex[:8]}"}
    data = tmp_path_factory.mktemp("data")
    first = newscrawler(data, "import", str(base / "pages"), "--url-map", str(base / "urls.tsv"), env=env)
    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    db = client[env["NEWSCRAWLER_DB"]]
    snapshot = {"articles": list(db.articles.find({}, {"_id": 0, "lastSeen": 0, "fetchedAt": 0})),
                "clusters": list(db.clusters.find({}, {"updatedAt": 0}))}
    yield base, wanted, env, data, first, db, snapshot
    client.drop_database(env["NEWSCRAWLER_DB"])
    client.close()


@pytest.mark.e2e
def test_import_stores_each_page_with_its_mapped_url(imported):
    _, wanted, _, _, first, db, _ = imported
    assert first.returncode == 0, first.stderr[-3000:]
    assert "imported 4 pages" in first.stdout
    docs = {d["url"]: d for d in db.articles.find()}
    assert set(docs) == {a["url"] for a in wanted.values()}
    copy = docs[wanted["syndicated-copy"]["url"]]
    assert copy["site"] == "jzrb" and copy["source"] == "大河网"
    assert copy["dateTrusted"] is True and copy["datePublished"].tzinfo is not None
    assert "matchKey" not in copy


@pytest.mark.e2e
def test_syndicated_story_is_one_cluster_with_the_original_outlet_canonical(imported):
    _, wanted, _, _, _, db, _ = imported
    original, copy = wanted["syndicated-original"]["url"], wanted["syndicated-copy"]["url"]
    a, b = db.articles.find_one({"url": original}), db.articles.find_one({"url": copy})
    assert a["cluster"] == b["cluster"]
    cluster = db.clusters.find_one({"_id": a["cluster"]})
    assert sorted(m["url"] for m in cluster["members"]) == sorted([original, copy])
    # dahe is 大河网 itself: its article is the original, whichever was imported first.
    assert cluster["canonical"]["url"] == original


@pytest.mark.e2e
def test_traditional_copy_joins_the_simplified_story(imported):
    _, wanted, _, _, _, db, _ = imported
    seed, trad = (db.articles.find_one({"url": wanted[t]["url"]}) for t in ("seed", "traditional"))
    assert trad["script"] == "Hant" and seed["script"] == "Hans"
    assert trad["cluster"] == seed["cluster"]
    assert {seed["dedup"], trad["dedup"]} & {"exact", "near"}
    assert db.clusters.count_documents({}) == 2


@pytest.mark.e2e
def test_db_clusters_json_prints_one_object_per_cluster(imported):
    _, wanted, env, data, _, _, _ = imported
    out = read(data, "db", "clusters", "--json", env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    clusters = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert len(clusters) == 2
    by_canonical = {c["canonical"]: c for c in clusters}
    syndicated = by_canonical[wanted["syndicated-original"]["url"]]
    assert set(syndicated["urls"]) == {wanted["syndicated-original"]["url"], wanted["syndicated-copy"]["url"]}
    assert all({"cluster", "canonical", "urls"} <= set(c) for c in clusters)


@pytest.mark.e2e
def test_importing_again_changes_nothing(imported):
    base, _, env, data, _, db, snapshot = imported
    again = newscrawler(data, "import", str(base / "pages"), "--url-map", str(base / "urls.tsv"), env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "new 0, updated 0, unchanged 4" in again.stdout
    assert list(db.articles.find({}, {"_id": 0, "lastSeen": 0, "fetchedAt": 0})) == snapshot["articles"]
    assert list(db.clusters.find({}, {"updatedAt": 0})) == snapshot["clusters"]


@pytest.mark.e2e
def test_warc_import_takes_urls_from_records_and_sites_from_hosts(saved, mongo_uri, tmp_path):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    base, wanted = saved
    page = (base / "pages" / "syndicated-original.html").read_bytes()
    buf = BytesIO()
    writer = WARCWriter(buf, gzip=True)
    for url, status, body in (("http://www.example.com/news/1.html", "200 OK", page),
                              ("http://www.example.com/missing.html", "404 Not Found", b"gone")):
        headers = StatusAndHeaders(status, [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(body), http_headers=headers))
    warc = tmp_path / "pages.warc.gz"
    warc.write_bytes(buf.getvalue())
    env = {"MONGO_URI": mongo_uri, "NEWSCRAWLER_DB": f"test_warc_{uuid.uuid4().hex[:8]}"}
    out = newscrawler(tmp_path / "data", "import", str(warc), env=env)
    client = pymongo.MongoClient(mongo_uri, tz_aware=True)
    try:
        assert out.returncode == 0, out.stderr[-3000:]
        [doc] = list(client[env["NEWSCRAWLER_DB"]].articles.find())
        assert doc["url"] == "http://www.example.com/news/1.html"
        assert doc["site"] == "example.com"
    finally:
        client.drop_database(env["NEWSCRAWLER_DB"])
        client.close()


@pytest.mark.e2e
def test_missing_path_is_a_usage_error(tmp_path):
    out = newscrawler(tmp_path, "import", str(tmp_path / "nope.html"))
    assert out.returncode == 2 and "no such file" in out.stderr


def test_url_map_and_site_rules(tmp_path):
    f = tmp_path / "m.tsv"
    f.write_text("# comment\na.html\thttp://www.dahe.cn/a.html\n\n", encoding="utf-8")
    assert read_url_map(f) == {"a.html": "http://www.dahe.cn/a.html"}
    f.write_text("b.html\n", encoding="utf-8")
    with pytest.raises(ValueError, match="m.tsv:1"):
        read_url_map(f)
    from newscrawler.profiles import load_profiles

    profiles = load_profiles()
    assert site_for("http://www.dahe.cn/a.html", profiles)[0] == "dahe"
    assert site_for("https://www.Example.org/x", profiles) == ("example.org", None)
    assert site_for("file:///tmp/x.html", profiles) == ("local", None)
