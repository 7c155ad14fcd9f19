"""Extractor behaviour on small hand-built pages: charsets, the seed's layout, labels, list pages,
multi-page articles, profile selectors, structured metadata and the CLI. No network, no corpus."""

from __future__ import annotations

import json

import pytest

from newscrawler.extract import Article, CharsetError, extract, merge_pages
from newscrawler.extract.dates import parse_date
from newscrawler.profiles import parse_profile

# The seed page (../shared/seed), rebuilt as markup: a Traditional rendering of a 焦作网 article whose
# whole article block appears twice, with the label line, an editor line and a disclaimer.
SEED_HEADLINE = "熱解讀|全國兩會後首次考察 總書記多次強調這一“轉化”"
SEED_PARAS = [
    "熱解讀3月18日至21日,全國兩會閉幕後僅一周,習近平總書記就來到瀟湘大地考察。",
    "作為發展新質生產力的核心要素,科技創新並非易事,而科技成果轉化亦非坦途。",
    "科技成果的價值在於運用。推動科技成果落地轉化,是實施創新驅動發展戰略的重要內容,也是促進科技與經濟緊密結合的關鍵環節。",
    "提高科技成果轉化水平,是科技創新和產業創新對接的“關口”,也是轉化為新質生產力的關鍵。",
    "總監製丨駱紅秉 魏驅虎",
]


def _seed_copy(info: str) -> str:
    paras = "".join(f"<p>{p}</p>" for p in SEED_PARAS)
    return (f'<div class="detail"><h1>{SEED_HEADLINE}</h1><div class="info">{info}</div>'
            f'<div class="content">{paras}<p>文章編輯:劉鳴捷 </p></div>'
            '<div class="mzsm">焦作網免責聲明:<br>本網所有稿件,未經許可不得轉載。<br>'
            '轉載稿件不代表本網觀點,如有異議請聯係我們即可處理。</div></div>')


SEED_HTML = (
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    f"<title>{SEED_HEADLINE}-焦作網</title></head><body>"
    '<div class="nav"><a href="/">網站首頁</a> <a href="/news/">新聞</a> <a href="/gn/">國內</a> '
    '<a href="/gj/">國際</a> <a href="/hn/">河南</a> <a href="/jz/">焦作</a></div>'
    '<div class="position">您現在的位置: <a href="/">焦作網</a> &gt; <a href="/tj/">新聞推薦</a> &gt; '
    '<a href="/ftt/">副頭條</a> &gt; 正文</div>'
    + _seed_copy("更新時間:2024-3-23 20:21:02&nbsp;&nbsp;&nbsp;&nbsp;來源:央視網")
    + _seed_copy("2024-3-23 20:21:02&nbsp;&nbsp;&nbsp;&nbsp;來源:央視網")
    + '<div class="footer">版權所有:河南省焦作日報社 未經授權,請勿轉載或建立鏡像。'
    "豫ICP備14012713號-1</div></body></html>"
)
SEED_URL = "http://www.jzrb.com/news/tuijian/202403/821798.shtml"


def test_seed_layout_gbk_bytes_doubled_body_traditional_labels():
    art = extract(SEED_HTML.encode("gb18030"), SEED_URL)
    assert art.encoding == "gb18030"
    assert art.isArticle
    assert art.headline == SEED_HEADLINE
    assert art.datePublished == "2024-03-23T20:21:02+08:00"
    assert art.datePublishedRaw == "2024-3-23 20:21:02"
    assert art.source == "央視網"
    assert art.editor == "劉鳴捷"
    assert art.authors == []  # 央視網 is the source, never an author
    assert art.articleBody == "\n".join(SEED_PARAS)  # once, without editor line or disclaimer
    assert art.breadcrumbs == ["焦作網", "新聞推薦", "副頭條"]
    assert art.script == "Hant"
    assert art.inLanguage == "zh"


def test_gb2312_declared_page_served_as_utf8_is_decoded_from_the_bytes():
    html = ('<html><head><meta http-equiv="content-type" content="text/html;charset=GB2312">'
            "<title>女儿出嫁，郑板桥画了几笔兰花当嫁妆--文化--人民网</title></head><body>"
            "<h1>女儿出嫁，郑板桥画了几笔兰花当嫁妆</h1>"
            "<div>2019年06月15日08:18&nbsp;&nbsp;来源：<a href='/'>人民网-文化频道</a></div>"
            "<div class='rm_txt_con'><p>父亲的教诲像一盏灯，为我们照亮前行的路；父亲的关爱像一把伞，"
            "为我们遮蔽人世间的风风雨雨。</p><p>今年的6月16日是父亲节。每当诵读那些关于父亲的古诗词，"
            "许多人的心中都会涌起一种深沉而又温暖的情感。</p></div></body></html>")
    art = extract(html.encode("utf-8"), "http://culture.people.com.cn/n1/2019/0615/c1013-31153719.html",
                  headers={"Content-Type": "text/html; charset=gb2312"})
    assert art.encoding == "utf-8"
    assert art.headline == "女儿出嫁，郑板桥画了几笔兰花当嫁妆"
    assert art.datePublished == "2019-06-15T08:18:00+08:00"
    assert art.source == "人民网-文化频道"
    assert art.articleBody.startswith("父亲的教诲像一盏灯")


def test_real_gbk_bytes_with_gbk_only_characters_decode_as_gb18030():
    # 镕 and 喆 are outside GB2312: a strict gb2312 decoder fails on them, GB18030 does not.
    text = "朱镕基与王喆出席会议，来源：洛阳日报。这是一段足够长的正文，用来说明编码判断。" * 3
    html = f'<html><head><meta charset="gb2312"><title>会议</title></head><body><p>{text}</p></body></html>'
    body = html.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("gb2312")
    art = extract(body, "http://news.lyd.com.cn/system/2024/01/02/012000001.shtml")
    assert art.encoding == "gb18030"
    assert "朱镕基与王喆" in art.articleBody


def test_undecodable_bytes_raise_charset_error_naming_the_url():
    junk = b"<html><body>" + bytes(range(0x80, 0x100)) * 40 + b"\xff\xfe\x80" * 50 + b"</body></html>"
    with pytest.raises(CharsetError) as info:
        extract(junk, "http://example.com/broken.html")
    assert "http://example.com/broken.html" in str(info.value)


def test_column_page_is_not_an_article():
    rows = "".join(
        f'<tr><td class="dot">·</td><td><a href="/news/bendi/202412/8209{i:02d}.shtml">焦作第{i}条新闻标题'
        f"发布</a></td><td>2024-12-{i % 28 + 1}</td></tr>" for i in range(30))
    html = ('<html><head><meta charset="utf-8"><title>焦作新闻-焦作网</title></head><body>'
            '<div class="nav"><a href="/">网站首页</a> <a href="/news/">新闻</a></div>'
            '<div class="position">您现在的位置: <a href="/">焦作网</a> &gt; 焦作新闻</div>'
            f'<div class="lmzj"><table>{rows}</table></div>'
            '<div class="page"><a href="index_2.shtml">下一页</a></div>'
            "<div>版权所有:河南省焦作日报社 未经授权,请勿转载或建立镜像。</div></body></html>")
    art = extract(html.encode("utf-8"), "http://www.jzrb.com/news/bendi/")
    assert art.isArticle is False
    assert art.nextPage is None  # a column's next page is not an article continuation


def _lyd_page(n: int, total: int) -> bytes:
    base = "http://news.lyd.com.cn/system/2024/08/08/012000556"
    nav = f'<a href="{base}_{n + 1:02d}.shtml">下一页</a>' if n < total - 1 else ""
    paras = "".join(f"<p>第{n + 1}页第{i}段：洛阳中心城区道路完成提质改造，群众出行更加便利，工程进度符合预期。</p>"
                    for i in range(3))
    html = ('<html><head><meta charset="gbk"><title>洛阳中心城区61条道路完成提质改造_洛阳网</title></head>'
            "<body><h1>洛阳中心城区61条道路完成提质改造</h1>"
            '<div class="info">2024年08月08日 16:45　来源：洛阳日报　作者：张卫东</div>'
            f'<div class="content">{paras}</div><div class="page">{nav}</div>'
            '<div class="editor">责任编辑：沈建平</div></body></html>')
    return html.encode("gbk")


def test_multi_page_article_follows_next_page_and_merges():
    base = "http://news.lyd.com.cn/system/2024/08/08/012000556"
    first = extract(_lyd_page(0, 3), base + ".shtml")
    assert first.nextPage == base + "_01.shtml"
    second = extract(_lyd_page(1, 3), first.nextPage)
    assert second.nextPage == base + "_02.shtml"
    third = extract(_lyd_page(2, 3), second.nextPage)
    assert third.nextPage is None
    merged = merge_pages([first, second, third])
    assert merged.headline == "洛阳中心城区61条道路完成提质改造"
    assert merged.authors == ["张卫东"]
    assert merged.source == "洛阳日报"
    assert merged.editor == "沈建平"
    assert merged.datePublished == "2024-08-08T16:45:00+08:00"
    assert merged.articleBody.count("\n") == 8
    assert merged.articleBody.startswith("第1页第0段") and merged.articleBody.endswith("工程进度符合预期。")
    assert merged.nextPage is None
    assert "来源" not in merged.articleBody


def test_next_page_ignores_links_to_other_articles():
    html = ('<html><head><title>某文章</title></head><body><h1>某文章</h1><div class="c">'
            + "<p>这是正文内容，足够长的一句话，用于测试。这里还有更多的文字，保证它是文章。</p>" * 4
            + '</div><a href="/system/2024/08/09/012000999.shtml">下一页</a></body></html>')
    art = extract(html.encode(), "http://news.lyd.com.cn/system/2024/08/08/012000556.shtml")
    assert art.nextPage is None


def test_profile_selectors_css_and_xpath():
    profile = parse_profile({
        "site": "dahe", "hosts": ["dahe.cn"], "start_urls": ["http://news.dahe.cn/"],
        "article_url_pattern": r"^https?://news\.dahe\.cn/\d{4}/\d{2}-\d{2}/\d+\.html$",
        "selectors": {"headline": '//h1[@id="4g_title"]', "datePublished": "p.time",
                      "articleBody": "div#mainCon", "source": "p#source_baidu", "editor": "p#editor_baidu"},
    }, "dahe.toml")
    html = ('<html><head><meta charset="utf-8"><title>x</title></head><body>'
            '<h1 id="4g_title">焦作市举行重点项目集中开工仪式</h1><p class="time">2024-05-06 09:30</p>'
            '<p id="source_baidu">来源：大河网</p>'
            '<div id="mainCon"><p>5月6日，焦作市举行重点项目集中开工仪式，共有85个项目开工。</p></div>'
            '<div class="side"><p>这是侧栏里的一段很长很长的文字，有逗号，有句号。还有更多，更多，更多的内容。'
            "这段文字比正文还长，但它不是正文，选择器应当赢过启发式。</p></div>"
            '<p id="editor_baidu">责任编辑：王磊</p></body></html>')
    art = extract(html.encode(), "http://news.dahe.cn/2024/05-06/1750001.html", profile=profile)
    assert art.headline == "焦作市举行重点项目集中开工仪式"
    assert art.datePublished == "2024-05-06T09:30:00+08:00"
    assert art.source == "大河网"
    assert art.editor == "王磊"
    assert art.articleBody == "5月6日，焦作市举行重点项目集中开工仪式，共有85个项目开工。"


def test_json_ld_and_opengraph_fill_fields_with_offsets():
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Council approves new bridge",
          "datePublished": "2023-01-16T16:30:41-08:00", "author": [{"@type": "Person", "name": "Jane Roe"}]}
    body = "".join(f"<p>The council voted {i} times on the bridge, and residents, who waited years, cheered.</p>"
                   for i in range(6))
    html = ("<html><head><title>Council approves new bridge - Local News</title>"
            '<meta property="og:type" content="article"><meta property="og:image" content="/img/bridge.jpg">'
            '<link rel="canonical" href="https://example.com/2023/01/16/bridge/">'
            f'<script type="application/ld+json">{json.dumps(ld)}</script></head><body>'
            f'<h1>Council approves new bridge</h1><article><div class="entry-content">{body}</div></article>'
            "</body></html>")
    art = extract(html.encode(), "https://example.com/2023/01/16/bridge/?utm_source=x")
    assert art.headline == "Council approves new bridge"
    assert art.datePublished == "2023-01-16T16:30:41-08:00"
    assert art.authors == ["Jane Roe"]
    assert art.canonicalUrl == "https://example.com/2023/01/16/bridge/"
    assert art.mainImage == "https://example.com/img/bridge.jpg"
    assert art.articleBody.count("\n") == 5
    assert art.script is None


def test_source_and_author_are_kept_apart():
    html = ("<html><head><title>标题-某网</title></head><body><h1>标题</h1>"
            "<div>来源：新华社　作者：张三 李四　发布时间：2022年02月12日 09:30</div><div class='c'>"
            + "".join(f"<p>新华社北京2月12日电，这是第{i}段足够长的正文，用来测试作者和来源的区分。</p>"
                      for i in range(3))
            + "</div><p>【编辑：王五】</p></body></html>")
    art = extract(html.encode(), "http://example.cn/a.html")
    assert art.source == "新华社"
    assert art.authors == ["张三", "李四"]
    assert art.editor == "王五"
    assert art.datePublished == "2022-02-12T09:30:00+08:00"
    assert art.articleBody.count("\n") == 2
    assert not any(line.startswith(("来源", "【编辑")) for line in art.articleBody.split("\n"))


@pytest.mark.parametrize("text,iso", [
    ("更新時間:2024-3-23 20:21:02", "2024-03-23T20:21:02+08:00"),
    ("2022年02月12日 09:30", "2022-02-12T09:30:00+08:00"),
    ("2022.01.20 16:31", "2022-01-20T16:31:00+08:00"),
    ("2020-10-04T20:30:00+02:00", "2020-10-04T20:30:00+02:00"),
    ("发布日期：2019-03-06", "2019-03-06T00:00:00+08:00"),
    ("12.10.2015, 19:16 Uhr", "2015-10-12T19:16:00+08:00"),
    ("Nov 18, 2019, 11:47am EST", "2019-11-18T11:47:00+08:00"),
])
def test_dates(text, iso):
    assert parse_date(text, "Asia/Shanghai").iso == iso


def test_empty_page_is_no_article():
    art = extract(b"", "http://example.com/empty")
    assert isinstance(art, Article) and art.isArticle is False


def test_cli_extract_prints_json_lines_with_file_ids(tmp_path, capsys):
    from newscrawler.cli import main

    page = tmp_path / "seed-page.html"
    page.write_bytes(SEED_HTML.encode("gb18030"))
    bad = tmp_path / "bad.html"
    bad.write_bytes(b"<html>" + b"\xff\xfe\x80" * 300 + b"</html>")
    code = main(["extract", str(page), str(bad), "--url", SEED_URL])
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 1  # one input failed, and said so
    assert "cannot decode" in err
    assert len(lines) == 1
    assert lines[0]["id"] == "seed-page"
    assert lines[0]["headline"] == SEED_HEADLINE
    assert lines[0]["source"] == "央視網"


def test_scrapy_style_bytes_headers_give_the_charset():
    html = ("<html><body><h1>香港天文台發出警告</h1>"
            "<p>這是一段正文，內容足夠長，用來測試頭部編碼。再寫一些，保證它是文章。</p></body></html>")
    body = html.encode("big5")
    art = extract(body, "http://example.tw/a.html", headers={b"Content-Type": [b"text/html; charset=big5"]})
    assert art.encoding == "big5hkscs"
    assert art.articleBody.startswith("這是一段正文")
    assert art.script == "Hant"
    art = extract("<html><body><p>已解码的文本，直接交给抽取器，也能处理。这是第二句话。</p></body></html>",
                  "http://example.cn/s.html")
    assert art.encoding is None and art.articleBody.startswith("已解码的文本")


def test_merge_pages_skips_a_continuation_that_repeats_page_one():
    first = extract(_lyd_page(0, 2), "http://news.lyd.com.cn/system/2024/08/08/012000556.shtml")
    again = extract(_lyd_page(0, 2), "http://news.lyd.com.cn/system/2024/08/08/012000556_01.shtml")
    assert merge_pages([first, again]).articleBody == first.articleBody


def test_western_page_without_profile_or_offset_is_not_given_chinas_zone():
    body = "".join(f"<p>The council met for the {i}th time, and residents, who waited, were pleased.</p>"
                   for i in range(5))
    html = ("<html lang='en'><head><title>Council meets again - Gazette</title></head><body>"
            "<h1>Council meets again</h1><p class='byline'>By Jane Roe</p><p>Published November 18, 2019 9:30 AM</p>"
            f"<div class='story'>{body}</div></body></html>")
    art = extract(html.encode(), "https://gazette.example/2019/11/18/council")
    assert art.headline == "Council meets again"
    assert art.authors == ["Jane Roe"]
    assert art.datePublished == "2019-11-18T09:30:00+00:00"
    assert art.inLanguage == "en" and art.script is None
    assert "Published" not in art.articleBody and "Jane Roe" not in art.articleBody


def test_a_body_selector_that_matches_nothing_falls_back_to_the_heuristics():
    profile = parse_profile({
        "site": "hnr", "hosts": ["hnr.cn"], "start_urls": ["http://news.hnr.cn/"],
        "article_url_pattern": r"^https?://news\.hnr\.cn/\d{6}/\d{2}/\d+\.html$",
        "selectors": {"articleBody": "div#text_fix"},
    }, "hnr.toml")
    html = ("<html><head><meta charset='utf-8'><title>新版页面标题_映象网</title></head><body><h1>新版页面标题</h1>"
            "<div id='text_fix'></div><div class='article-content'>"
            + "".join(f"<p>改版后的正文第{i}段，内容足够长，包含逗号，也包含句号。</p>" for i in range(4))
            + "</div></body></html>")
    art = extract(html.encode(), "http://news.hnr.cn/202405/08/3400061.html", profile=profile)
    assert art.articleBody.startswith("改版后的正文第0段") and art.articleBody.count("\n") == 3


@pytest.mark.parametrize("url,href,want", [
    ("http://a.cn/gov/202401/t20240101_123.html", "t20240101_123_2.html", "http://a.cn/gov/202401/t20240101_123_2.html"),
    ("http://a.cn/gov/202401/t20240101_123_2.html", "t20240101_123_3.html",
     "http://a.cn/gov/202401/t20240101_123_3.html"),
    ("http://a.cn/news/2024/0101/index.html", "index_2.html", "http://a.cn/news/2024/0101/index_2.html"),
    ("http://a.cn/show.php?id=7", "show.php?id=7&page=2", "http://a.cn/show.php?id=7&page=2"),
    ("http://a.cn/gov/202401/t20240101_123.html", "t20240101_124.html", None),
])
def test_next_page_url_shapes(url, href, want):
    html = ('<html><head><title>某文章</title></head><body><h1>某文章</h1><div class="c">'
            + "".join(f"<p>这是第{i}段正文内容，足够长的一句话，用于测试翻页。</p>" for i in range(8))
            + f'</div><a href="{href}">下一页</a></body></html>')
    assert extract(html.encode(), url).nextPage == want
