"""The search index on its own (store/search.py): what a query matches, in which order, and how it keeps up
with edits — no database needed, the index is an SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from newscrawler.store.filters import ArticleFilter
from newscrawler.store.search import SLOTS, SearchIndex, index_text, match_expression

T0 = datetime(2024, 3, 1, 8, tzinfo=UTC)


def doc(n: int, headline: str, body: str, *, hours: float = 0, **extra) -> dict:
    published = extra.pop("published", T0 + timedelta(hours=hours))
    return {"canonicalUrl": f"http://www.example.cn/{n}.html", "headline": headline, "articleBody": body,
            "datePublished": published, "site": extra.pop("site", "jzrb"), **extra}


@pytest.fixture
def index():
    ix = SearchIndex()
    ix.write([
        doc(1, "总书记在焦作考察", "正文讲到了黄河。", hours=1, source="新华社", authors=["张三"], editor="李四"),
        doc(2, "焦作新闻", "總書記强调要保护黄河流域生态。", hours=2, site="dahe", script="Hant"),
        doc(3, "Protesters gather in Zhengzhou", "The protest was peaceful. 郑州", hours=3, site="dahe"),
        doc(4, "无关的标题", "总书\n记者报道了别的事情。", hours=4),
        doc(5, "黄河", "没有日期的文章", published=None),
        doc(6, "iPhone发布会在郑州举行", "新品发布会吸引了很多人。", hours=5, authors=["王五", "张三"]),
    ])
    yield ix
    ix.close()


def urls(ix: SearchIndex, **f) -> list[int]:
    return [int(u.rsplit("/", 1)[1].split(".")[0]) for u in ix.page(ArticleFilter(**f), 0, 50)]


def test_either_script_finds_both(index):
    assert urls(index, q="总书记") == [1, 2]
    assert urls(index, q="總書記") == [1, 2]


def test_a_word_is_matched_as_a_whole_phrase_not_as_scattered_characters(index):
    assert urls(index, q="书记") == [1, 2]
    assert 4 not in urls(index, q="总书记")  # 总书 … 记者 across a line break is not the word
    assert urls(index, q="发布会") == [6]


def test_several_words_must_all_occur_anywhere(index):
    assert urls(index, q="焦作 黄河") == [2, 1]
    assert urls(index, q="焦作 郑州") == []


def test_headline_hits_come_first_then_newest(index):
    # 6 and 3 carry 郑州 in their headlines; 3 only in its body… and vice versa for 黄河.
    assert urls(index, q="郑州") == [6, 3]
    assert urls(index, q="黄河") == [5, 2, 1]


def test_english_words_match_case_insensitively_and_by_prefix(index):
    assert urls(index, q="PROTEST") == [3]
    assert urls(index, q="protesters zhengzhou") == [3]
    assert urls(index, q="iphone") == [6]
    assert urls(index, q="rotest") == []


def test_filters_combine_with_the_search(index):
    assert urls(index, q="黄河", site="jzrb") == [5, 1]
    assert urls(index, q="黄河", since=T0, until=T0 + timedelta(hours=1, minutes=30)) == [1]
    assert urls(index, author="张三") == [6, 1]
    assert urls(index, author="张三", q="焦作") == [1]
    assert urls(index, source="新华社") == [1]
    assert urls(index, editor="李四") == [1]
    assert urls(index, script="Hant") == [2]


def test_without_a_search_the_order_is_newest_first_undated_last(index):
    assert urls(index) == [6, 4, 3, 2, 1, 5]


def test_paging_crosses_from_headline_hits_to_body_hits(index):
    f = ArticleFilter(q="黄河")
    assert [index.page(f, i, 1) for i in range(3)] == [[u] for u in index.page(f, 0, 3)]
    assert index.page(f, 1, 2) == index.page(f, 0, 3)[1:]
    assert index.count(f) == 3 and index.count(f, cap=2) == 2


def test_an_edited_article_is_found_by_its_new_text_only(index):
    index.write([doc(1, "改写后的标题", "全新的正文。", hours=1)])
    assert urls(index, q="总书记") == [2]
    assert urls(index, q="全新") == [1]
    assert index.size() == 6


def test_queries_without_words_match_nothing(index):
    assert match_expression("  ，。！ ") is None
    assert index.page(ArticleFilter(q="，。"), 0, 10) == []
    assert index.count(ArticleFilter(q="，。")) == 0


def test_quotes_and_operators_in_a_query_are_plain_text(index):
    assert urls(index, q='"黄河" OR NOT') == []
    assert urls(index, q="黄河 AND*") == []


def test_rowids_sort_like_publication_times_even_within_one_second():
    ix = SearchIndex()
    try:
        ix.write([doc(n, f"同一秒{n}", "正文", published=T0) for n in range(40)])
        ix.write([doc(99, "晚一秒", "正文", published=T0 + timedelta(seconds=1))])
        rids = dict(ix._conn().execute("SELECT url, rid FROM docs"))
        assert all(rids[f"http://www.example.cn/{n}.html"] // SLOTS == int(T0.timestamp()) for n in range(40))
        assert urls(ix)[0] == 99
    finally:
        ix.close()


def test_index_text_spaces_cjk_and_folds_traditional():
    assert index_text("總書記A股").split() == ["总", "书", "记", "A股"[0], "股"]
