"""Normalisation as plain functions: text, script, dates, outlet names, URLs, repeated blocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import opencc
import pytest

from newscrawler.extract.script import detect_script
from newscrawler.normalise.article import normalise_item
from newscrawler.normalise.dates import is_trusted, to_utc
from newscrawler.normalise.script import match_key, to_simplified
from newscrawler.normalise.sources import canonical_source, load_outlets, site_outlets
from newscrawler.normalise.text import collapse_repeated_blocks, normalise_inline, normalise_text
from newscrawler.normalise.urls import canonical_url
from newscrawler.profiles import parse_profile

SIMPLIFIED = "新华社北京3月5日电 国务院总理在政府工作报告中说，今年发展主要预期目标是：国内生产总值增长5%左右。"


def profile(www: str = "add", site: str = "jzrb", hosts: tuple[str, ...] = ("jzrb.com",)):
    return parse_profile({"site": site, "name": "焦作网", "hosts": list(hosts), "www": www,
                          "start_urls": [f"http://www.{hosts[0]}/"],
                          "article_url_pattern": r"/news/"}, Path(f"{site}.toml"))


# -- text ------------------------------------------------------------------------------------------

def test_full_width_ascii_folds_but_chinese_punctuation_stays():
    assert normalise_text("ＧＤＰ增长５％，达到１２３亿元（同比）！") == "GDP增长5%，达到123亿元（同比）！"


def test_nfkc_only_where_meaning_is_kept():
    # ㎡, ①, ½ and x² say something NFKC would change; ligatures and no-break spaces do not.
    assert normalise_text("面积120㎡ ① ½ x² ﬁle\u00a0a") == "面积120㎡ ① ½ x² file a"


def test_invisible_characters_removed_and_whitespace_collapsed_paragraphs_kept():
    raw = "\u3000\u3000第一段\u200b内容\u00ad，  有  空格。\r\n\r\n\t\n\u3000\u3000第二段\x07内容。\u2029第三段"
    assert normalise_text(raw) == "第一段内容， 有 空格。\n第二段内容。\n第三段"


def test_inline_fields_become_one_line():
    assert normalise_inline("  标题\n 第二行 ") == "标题 第二行"
    assert normalise_inline(" \u200b ") is None
    assert normalise_text(None) is None


def test_repeated_blocks_collapse_to_one():
    body = "第一段讲了一件事情。\n第二段讲了另一件事。\n图片\n第一段讲了一件事情。\n第二段讲了另一件事！\n图片"
    # Re-punctuated repeats collapse too; short furniture lines ("图片") may repeat.
    assert collapse_repeated_blocks(body) == "第一段讲了一件事情。\n第二段讲了另一件事。\n图片\n图片"


def test_single_paragraph_printed_twice_collapses():
    once = "这是一篇只有一个段落的新闻稿件内容。"
    assert collapse_repeated_blocks(once + once) == once
    assert collapse_repeated_blocks(once) == once


# -- script ----------------------------------------------------------------------------------------

def test_script_detection_and_simplified_key():
    traditional = opencc.OpenCC("s2t").convert(SIMPLIFIED)
    assert traditional != SIMPLIFIED
    assert detect_script(traditional) == "Hant"
    assert detect_script(SIMPLIFIED) == "Hans"
    assert detect_script("An English sentence.") is None
    assert to_simplified(traditional, "Hant") == SIMPLIFIED
    assert to_simplified(SIMPLIFIED, "Hans") == SIMPLIFIED
    assert match_key(traditional) == match_key(SIMPLIFIED)


def test_match_key_ignores_punctuation_spacing_and_paragraphs():
    assert match_key("今天，天气 很好。\n明天:下雨!") == match_key("今天天气很好\n\n明天——下雨")


# -- dates -----------------------------------------------------------------------------------------

def test_dates_become_aware_utc():
    assert to_utc("2024-03-23T20:21:02+08:00") == datetime(2024, 3, 23, 12, 21, 2, tzinfo=UTC)
    # No offset: read in the portal's zone.
    assert to_utc("2024-03-23 20:21") == datetime(2024, 3, 23, 12, 21, tzinfo=UTC)
    assert to_utc("2024-03-23T12:21:02Z") == datetime(2024, 3, 23, 12, 21, 2, tzinfo=UTC)
    assert to_utc("not a date") is None
    assert to_utc(None) is None


def test_future_and_pre_1990_dates_are_not_trusted():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert is_trusted(datetime(2025, 12, 31, tzinfo=UTC), now)
    assert not is_trusted(now + timedelta(days=2), now)
    assert not is_trusted(datetime(1989, 12, 31, tzinfo=UTC), now)
    assert not is_trusted(None, now)


# -- sources ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["央视网", "央視網", "CCTV", "cctv", "央视新闻", "来源：央视新闻客户端",
                                 "【来源：央視網】"])
def test_cctv_spellings_are_one_outlet(raw):
    assert canonical_source(raw) == "央视网"


def test_other_outlets_and_unknown_names():
    assert canonical_source("新華社") == canonical_source("新华网") == "新华社"
    assert canonical_source("人民網") == "人民网"
    assert canonical_source("稿件来源: 河南日報") == "河南日报"
    assert canonical_source("大河網") == "大河网"
    assert canonical_source("新华社客户端河南频道") == "新华社"
    assert canonical_source("某某县融媒体中心") == "某某县融媒体中心"
    assert canonical_source("   ") is None


def test_outlet_file_is_data_and_names_site_outlets(tmp_path):
    f = tmp_path / "sources.toml"
    f.write_text('[[outlet]]\nname = "测试台"\naliases = ["測試臺", "TestTV"]\nsites = ["demo"]\n', "utf-8")
    outlets = load_outlets(f)
    assert canonical_source("testtv", outlets) == "测试台"
    assert site_outlets("demo", None, outlets) == {"测试台"}
    assert site_outlets("dahe", "大河网") == {"大河网"}


# -- URLs ------------------------------------------------------------------------------------------

def test_canonical_url_drops_tracking_fragments_index_and_default_port():
    p = profile()
    url = "HTTP://JZRB.com:80/news/bendi/index.html?utm_source=wx&spm=a.b&from=timeline&id=7#top"
    assert canonical_url(url, p) == "http://www.jzrb.com/news/bendi/?id=7"
    assert canonical_url("https://www.jzrb.com:443/a/b.shtml?b=2&a=1", p) == "https://www.jzrb.com/a/b.shtml?a=1&b=2"
    assert canonical_url("http://www.jzrb.com:8080/a", p) == "http://www.jzrb.com:8080/a"


def test_www_follows_the_profile():
    assert canonical_url("http://www.jzrb.com/a", profile("strip")) == "http://jzrb.com/a"
    assert canonical_url("http://jzrb.com/a", profile("keep")) == "http://jzrb.com/a"
    # Other hosts are never rewritten.
    assert canonical_url("http://example.com/a", profile("add")) == "http://example.com/a"


def test_one_key_for_every_spelling_of_a_url():
    """A path written raw, percent-escaped in upper or lower case, with dot segments or an escaped
    unreserved character is one article (w3lib's canonical form under the portal rules)."""
    p = profile()
    spellings = [
        "http://jzrb.com/新闻/报道.html",
        "http://jzrb.com/%E6%96%B0%E9%97%BB/%E6%8A%A5%E9%81%93.html",
        "http://jzrb.com/%e6%96%b0%e9%97%bb/%e6%8a%a5%e9%81%93.html",
        "http://www.jzrb.com/a/../新闻/./报道.html",
        "http://WWW.JZRB.COM:80/新闻/%E6%8A%A5%e9%81%93.html#comments",
    ]
    keys = {canonical_url(u, p) for u in spellings}
    assert keys == {"http://www.jzrb.com/%E6%96%B0%E9%97%BB/%E6%8A%A5%E9%81%93.html"}
    assert canonical_url("http://jzrb.com/%7euser/a.html", p) == canonical_url("http://jzrb.com/~user/a.html", p) \
        == "http://www.jzrb.com/~user/a.html"
    # Queries: raw and escaped values are one key; order does not matter; tracking parameters go,
    # however their name is escaped.
    assert canonical_url("http://jzrb.com/s?q=河南&page=2&%75tm_source=wx", p) \
        == canonical_url("http://jzrb.com/s?page=2&q=%E6%B2%B3%E5%8D%97", p) \
        == "http://www.jzrb.com/s?page=2&q=%E6%B2%B3%E5%8D%97"
    # An escaped slash is not a path separator: it stays escaped.
    assert canonical_url("http://jzrb.com/a%2Fb.html", p) == "http://www.jzrb.com/a%2Fb.html"


# -- the whole item --------------------------------------------------------------------------------

def item(**kw):
    base = {"url": "http://jzrb.com/news/bendi/202403/1.shtml?utm_source=x", "site": "jzrb",
            "headline": "标题", "articleBody": SIMPLIFIED, "datePublished": "2024-03-23T20:21:02+08:00",
            "datePublishedRaw": "2024-03-23 20:21:02", "source": "来源：新華社", "canonicalUrl": None}
    return base | kw


def test_item_normalised():
    it = normalise_item(item(), profile(), now=datetime(2025, 1, 1, tzinfo=UTC))
    assert it["canonicalUrl"] == "http://www.jzrb.com/news/bendi/202403/1.shtml"
    assert it["datePublished"] == datetime(2024, 3, 23, 12, 21, 2, tzinfo=UTC)
    assert it["datePublishedRaw"] == "2024-03-23 20:21:02"
    assert it["dateTrusted"] is True
    assert (it["source"], it["sourceRaw"]) == ("新华社", "来源：新華社")
    assert it["script"] == "Hans"
    assert len(it["bodyHash"]) == 40


def test_rel_canonical_honoured_only_on_the_portal():
    p = profile()
    on = normalise_item(item(canonicalUrl="http://jzrb.com/news/x/1.shtml"), p)
    assert on["canonicalUrl"] == "http://www.jzrb.com/news/x/1.shtml"
    off = normalise_item(item(canonicalUrl="http://www.news.cn/2024/a.htm"), p)
    assert off["canonicalUrl"] == "http://www.jzrb.com/news/bendi/202403/1.shtml"


def test_traditional_copy_has_the_same_hash_and_key_as_the_original():
    trad = opencc.OpenCC("s2t").convert(SIMPLIFIED)
    a = normalise_item(item(), profile())
    b = normalise_item(item(articleBody=trad, headline="標題"), profile())
    assert b["script"] == "Hant" and b["articleBody"] == trad
    assert b["articleBodySimplified"] == SIMPLIFIED
    assert (a["bodyHash"], a["matchKey"]) == (b["bodyHash"], b["matchKey"])


def test_future_date_is_kept_but_flagged():
    it = normalise_item(item(datePublished="2099-01-01T00:00:00+08:00"), profile())
    assert it["datePublished"].year == 2098 and it["dateTrusted"] is False


def test_items_waiting_for_the_extraction_process_are_normalised_for_the_spill():
    """A run stopped at once spills what the normalise stage was waiting for, normalised in place (the
    extraction process stops with the crawl); one whose text turns out too short is dropped as the stage would."""
    from scrapy.utils.test import get_crawler

    from newscrawler.pipelines.normalise import NormalisePipeline

    pipeline = NormalisePipeline(get_crawler())
    whole = {"url": "http://www.jzrb.com/news/1.shtml", "site": "jzrb", "headline": " 标题 ",
             "articleBody": "正文第一段，足够长的文字。" * 10, "datePublished": "2024-03-23 20:21"}
    short = {"url": "http://www.jzrb.com/news/2.shtml", "site": "jzrb", "headline": "标题", "articleBody": "短"}
    pipeline.waiting = {id(whole): whole, id(short): short}
    assert pipeline.unfinished() == [whole] and not pipeline.waiting
    assert whole["headline"] == "标题" and whole["canonicalUrl"] == "http://www.jzrb.com/news/1.shtml"
    assert whole["bodyHash"] and whole["datePublished"].tzinfo is not None
