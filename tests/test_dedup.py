"""Deduplication: exact and near copies, clusters, re-crawls. The engine's rules run against both
implementations of its index: in memory, and the store's fingerprints room on a real MongoDB-wire server."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import opencc
import pytest

from newscrawler.dedup.engine import Deduplicator, cluster_id
from newscrawler.dedup.index import MemoryIndex
from newscrawler.normalise.article import normalise_item

rng = random.Random(42)
WORDS = ["经济", "发展", "政府", "工作", "报告", "会议", "城市", "农村", "项目", "建设", "群众", "服务", "企业",
         "市场", "改革", "创新", "教育", "医疗", "交通", "环境", "文化", "旅游", "安全", "科技", "人才"]


def para(n: int = 60) -> str:
    return "".join(rng.choice(WORDS) for _ in range(n // 2)) + "。"


STORY = "\n".join(para() for _ in range(6))
OTHER = "\n".join(para() for _ in range(6))


def art(url: str, body: str, site: str = "dahe", source: str | None = None, **kw) -> dict:
    it = {"url": url, "site": site, "headline": kw.pop("headline", "标题"), "articleBody": body,
          "datePublished": kw.pop("datePublished", "2024-03-23T20:21:02+08:00"), "source": source,
          "canonicalUrl": None} | kw
    return normalise_item(it)


@pytest.fixture(params=["memory", "mongodb"])
def index(request):
    if request.param == "memory":
        return MemoryIndex()
    return request.getfixturevalue("store").fingerprints


@pytest.fixture
def dedup(index):
    return Deduplicator(index)


def test_exact_copy_under_another_url(dedup, index):
    a = art("http://dahe.cn/a/1.html", STORY)
    b = art("http://hnr.cn/b/2.html", "\u3000\u3000" + STORY.replace("\n", "\n\n"), site="hnr")
    d1, d2 = dedup.process([a]), dedup.process([b])
    assert d1[0].kind == "none" and d1[0].cluster == cluster_id("http://dahe.cn/a/1.html")
    assert d2[0].kind == "exact" and d2[0].cluster == d1[0].cluster
    assert d2[0].duplicate_of == "http://dahe.cn/a/1.html"
    [c] = list(index.iter_clusters())
    assert c["urls"] == ["http://dahe.cn/a/1.html", "http://hnr.cn/b/2.html"]


def test_traditional_copy_with_a_lead_paragraph_added_is_near(dedup):
    dedup.process([art("http://dahe.cn/a/1.html", STORY)])
    trad = opencc.OpenCC("s2t").convert(para() + "\n" + STORY.replace("。", "！"))
    [d] = dedup.process([art("http://www.jzrb.com/news/x/2.shtml", trad, site="jzrb")])
    assert d.kind == "near" and d.cluster == cluster_id("http://dahe.cn/a/1.html")
    assert d.similarity and d.similarity >= 0.5


def test_different_story_and_template_with_other_figures_are_not_copies(dedup):
    weather = "郑州市气象台{d}日发布天气预报：今天白天晴转多云，最高气温{h}℃，最低气温{l}℃，东北风{w}级，" \
              "空气质量{a}级，紫外线指数{u}。请市民注意防晒，出行注意交通安全，关注最新天气预报信息。"
    one = weather.format(d=5, h=25, l=14, w=3, a=2, u=6)
    two = weather.format(d=6, h=22, l=11, w=4, a=1, u=3)
    ds = dedup.process([art("http://dahe.cn/w/5.html", one), art("http://dahe.cn/w/6.html", two),
                        art("http://dahe.cn/o/1.html", OTHER), art("http://dahe.cn/s/1.html", STORY)])
    assert [d.kind for d in ds] == ["none", "none", "none", "none"]
    assert len({d.cluster for d in ds}) == 4


def test_copies_in_one_batch_match_each_other(dedup):
    ds = dedup.process([art("http://dahe.cn/a/1.html", STORY), art("http://hnr.cn/a/1.html", STORY, site="hnr"),
                        art("http://lyd.com.cn/a/1.html", STORY + "\n" + para(), site="lyd")])
    assert [d.kind for d in ds] == ["none", "exact", "near"]
    assert len({d.cluster for d in ds}) == 1


def test_recrawl_keeps_the_decision_and_writes_no_new_member(dedup, index):
    a, b = art("http://dahe.cn/a/1.html", STORY), art("http://hnr.cn/b/2.html", STORY, site="hnr")
    first = dedup.process([a, b])
    before = list(index.iter_clusters())
    again = dedup.process([art("http://dahe.cn/a/1.html", STORY), art("http://hnr.cn/b/2.html", STORY, site="hnr")])
    assert [(d.cluster, d.kind, d.duplicate_of) for d in again] == \
        [(d.cluster, d.kind, d.duplicate_of) for d in first]
    assert all(d.known for d in again)
    after = list(index.iter_clusters())
    assert [c["urls"] for c in after] == [c["urls"] for c in before]
    assert index.count() == {"fingerprints": 2, "clusters": 1}


def test_changed_body_stays_the_same_article_and_story(dedup, index):
    [d1] = dedup.process([art("http://dahe.cn/a/1.html", STORY)])
    [d2] = dedup.process([art("http://dahe.cn/a/1.html", STORY + "\n（更正）" + para())])
    assert d2.known and d2.cluster == d1.cluster
    assert index.count()["fingerprints"] == 1


def test_canonical_is_the_original_outlet_else_the_earliest(dedup, index):
    t0 = datetime(2024, 3, 1, tzinfo=UTC)
    # A syndicated copy is seen first; the original outlet's own article arrives later and takes over.
    dedup.process([art("http://dahe.cn/a/1.html", STORY, source="河南日报")], [False], now=t0)
    dedup.process([art("http://lyd.com.cn/a/1.html", STORY, site="lyd", source="河南日报",
                       datePublished="2024-03-22T08:00:00+08:00")], [False], now=t0 + timedelta(hours=1))
    [c] = list(index.iter_clusters())
    assert c["canonical"] == "http://lyd.com.cn/a/1.html"  # earliest published of two copies
    dedup.process([art("http://hnr.cn/a/9.html", STORY, site="hnr", source="河南日报",
                       datePublished="2024-03-24T08:00:00+08:00")], [True], now=t0 + timedelta(hours=2))
    [c] = list(index.iter_clusters())
    assert c["canonical"] == "http://hnr.cn/a/9.html"
    assert c["size"] == 3
    assert {m["site"] for m in c["members"]} == {"dahe", "lyd", "hnr"}
    assert all(m["firstSeen"] is not None and m["source"] == "河南日报" for m in c["members"])


def test_short_bodies_only_match_exactly(dedup):
    ds = dedup.process([art("http://dahe.cn/p/1.html", "图片新闻：郑州街景。"),
                        art("http://dahe.cn/p/2.html", "图片新闻：洛阳街景。")])
    assert [d.kind for d in ds] == ["none", "none"]


def test_candidates_come_from_the_band_index_which_reindex_rebuilds(store):
    """Band keys are looked up in the band index (a SQLite file derived from `fingerprints`), not in the database.
    An index that belongs to another store (another data directory, an older version) is emptied and reported
    missing; `reindex` rebuilds it (the stored articles' fingerprints) and copies are found again."""
    dedup = Deduplicator(store.fingerprints)
    items = [art(f"http://dahe.cn/o/{i}.html", OTHER + f"第{i}期", datePublished=f"2024-03-{i + 1:02d}T08:00:00+08:00")
             for i in range(7)] + [art("http://dahe.cn/a/1.html", STORY)]
    for item, decision in zip(items, dedup.process(items), strict=True):
        item.update(decision.fields())
    store.articles.write(items)
    assert "bands" not in store.fingerprints.fingerprints.index_information()
    assert store.bands.size() == 8
    store.bands.claim("another store", complete=True)
    assert store.bands.size() == 0 and store.needs_reindex() == ["dedup index"]
    assert store.reindex(parts=store.needs_reindex())["fingerprints"] == 8
    assert store.needs_reindex() == [] and store.bands.size() == 8
    [d] = dedup.process([art("http://hnr.cn/b/2.html", STORY, site="hnr")])
    assert d.kind == "exact" and d.duplicate_of == "http://dahe.cn/a/1.html"


def test_the_band_index_earlier_versions_kept_in_the_database_is_dropped(store):
    store.fingerprints.fingerprints.create_index([("bands", 1)], name="bands")
    store.ensure_indexes()
    assert "bands" not in store.fingerprints.fingerprints.index_information()


def test_one_articles_flood_of_candidates_does_not_crowd_out_anothers(store):
    """A key every page of a portal shares (a footer) is cut at MAX_CANDIDATES_PER_KEY per key asked, per article."""
    from newscrawler.store.fingerprints import MAX_CANDIDATES_PER_KEY

    footer = [{"_id": f"http://dahe.cn/f/{i}.html", "bands": [7, 1000 + i]} for i in range(50)]
    store.bands.add([*footer, {"_id": "http://hnr.cn/x.html", "bands": [8, 9]}])
    found = {d["_id"] for d in store.fingerprints.by_bands([[7], [9]])}
    assert "http://hnr.cn/x.html" in found
    assert len(found - {"http://hnr.cn/x.html"}) == MAX_CANDIDATES_PER_KEY
    # A changed fingerprint's old keys are gone, its new ones found.
    store.bands.add([{"_id": "http://hnr.cn/x.html", "bands": [10]}])
    assert store.fingerprints.by_bands([[8, 9]]) == []
    assert [d["_id"] for d in store.fingerprints.by_bands([[10]])] == ["http://hnr.cn/x.html"]


def test_compiled_regex_on_indexed_field_still_matches_nothing(store):
    """SecantusDB bug (mongodb.md): DedupIndex never uses compiled regexes; this notices an upgrade fixing it."""
    import re

    store.fingerprints.clusters.insert_one({"_id": "c1", "members": [{"url": "http://dahe.cn/a"}]})
    assert store.fingerprints.clusters.count_documents({"members.url": {"$regex": "^http://dahe"}}) == 1
    assert store.fingerprints.clusters.count_documents({"members.url": re.compile("^http://dahe")}) == 0


def test_a_sketch_made_beforehand_is_used_only_with_the_same_parameters():
    """The crawl's normalise stage sketches the text in the extraction process (matchSketch); one made with other
    LSH parameters than the deduplicator's is ignored, never mixed in."""
    from dataclasses import replace

    from newscrawler.dedup.engine import sketch
    from newscrawler.dedup.minhash import DEFAULT

    now = datetime(2024, 3, 23, tzinfo=UTC)
    plain = art("http://dahe.cn/a/1.html", STORY)
    expected = Deduplicator(MemoryIndex()).fingerprint(plain, now, False)
    same = dict(plain, matchSketch=sketch(plain))
    other = dict(plain, matchSketch=sketch(plain, replace(DEFAULT, bands=DEFAULT.bands * 2)))
    for item in (same, other):
        fp, sig = Deduplicator(MemoryIndex()).fingerprint(item, now, False)
        assert fp == expected[0] and (sig == expected[1]).all()
    assert len(other["matchSketch"]["bands"]) != len(expected[0]["bands"])
