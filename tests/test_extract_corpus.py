"""The extractor on real saved pages, read in place from ../shared/corpus (skipped when absent).

Every expected value below was written down by reading the page itself (its visible headline, the
date/source/author line, the credit in the body), never copied from the extractor's output.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newscrawler.extract import extract

CORPUS = Path(os.environ.get("NEWSCRAWLER_CORPUS")
              or Path(__file__).resolve().parents[1].parent / "shared" / "corpus")

# file → (headline, datePublished (full ISO, or a prefix when the page shows only a day), source, authors)
PAGES = {
    # 长江网: h1.art-title, span.pub-time, span.sour "来源: 长江网", body opens "（记者陈智 整合）".
    "portal-pages/cjn.cn/1.html": (
        "外媒眼中的武汉长假：蓬勃发展，欢声笑语", "2020-10-04T20:30:00+08:00", "长江网", ["陈智"]),
    # 中山网: "发布日期：2019-03-06", "来源于：东区办事处", no author.
    "portal-pages/zsnews.cn/1.html": (
        "顺德区大良街道党工委委员潘卓辉一行到众创金融街开展调研工作", "2019-03-06", "东区办事处", []),
    # 当代商报: "来源：当代商报 时间：2019-09-23 14:34:05 作者：" (empty); body ends "(文/图 刘玺东 易赛楠)".
    "portal-pages/cjddsb.com/1.html": (
        "常德市金融系统积极开展“金融知识普及月 金融知识进万家”活动", "2019-09-23T14:34:05+08:00", "当代商报",
        ["刘玺东", "易赛楠"]),
    # 山西政府网 (TRS): h2 title, "时间：2019-09-18 06:23", "来源：山西日报", body ends "（张巨峰）".
    "portal-pages/shanxi.gov.cn/1.html": (
        "山西品牌丝路行（南美站）正式启动", "2019-09-18T06:23:00+08:00", "山西日报", ["张巨峰"]),
    # 浙江发改委 (Hanweb JCMS): "发布日期：2016-11-22", "信息来源：省发改委".
    "portal-pages/zj.gov.cn-hanweb-jcms/1.html": (
        "1-10月德清县固定资产投资结构趋稳趋优", "2016-11-22", "省发改委", []),
    # 人民网, meta says GB2312, bytes are UTF-8: "2019年06月15日08:18  来源：人民网-文化频道", p.author empty.
    "portal-pages/people.com.cn/1.html": (
        "女儿出嫁，郑板桥画了几笔兰花当嫁妆", "2019-06-15T08:18:00+08:00", "人民网-文化频道", []),
    # 网易: "2019-09-07 13:43:45 来源: 证券市场红周刊", no byline.
    "zh-web-unlabeled/163-1.html": (
        "多地项目连环爆雷 狂奔的龙湖集团\"暗伤\"曝露？", "2019-09-07T13:43:45+08:00", "证券市场红周刊", []),
    # 新华网: "2019-12-10 07:57:40 来源： 新华网", body "新华社巴黎12月9日电（记者唐霁）".
    "zh-web-unlabeled/xinhuanet-1.html": (
        "法国全国大罢工再次严重影响交通", "2019-12-10T07:57:40+08:00", "新华网", ["唐霁"]),
    # 澎湃: byline "石佳/中国青年报" then "2019-09-24 09:10".
    "zh-web-unlabeled/thepaper-1.html": (
        "共享充电宝涨价告别1元时代：是“收割韭菜”还是回归理性", "2019-09-24T09:10:00+08:00", "中国青年报", ["石佳"]),
    # 新浪: "2019年11月25日 18:57" beside the outlet 参考消息; only 责任编辑 below.
    "zh-web-unlabeled/sina-1.html": (
        "中国人习以为常的地方 为何老外却说“了不得”？", "2019-11-25T18:57", "参考消息", []),
    # 长江网 again (the same page as saved by GNE's tests).
    "zh-web-unlabeled/cjn-1.html": (
        "外媒眼中的武汉长假：蓬勃发展，欢声笑语", "2020-10-04T20:30:00+08:00", "长江网", ["陈智"]),
    # Vancouver Sun: h1.entry-title, article:published_time 2020-01-16T18:02:53+00:00, no byline.
    "portal-pages/vancouversun.com/vancouversun.com.microsoft.html": (
        "Microsoft moves to erase its carbon footprint from the atmosphere in climate push",
        "2020-01-16T18:02:53+00:00", None, []),
}

EDITORS = {
    "portal-pages/cjn.cn/1.html": "姚昊",  # "【编辑：姚昊】" closes the body
    "portal-pages/zsnews.cn/1.html": "龙慧",
    "zh-web-unlabeled/xinhuanet-1.html": "尹世杰",
    "zh-web-unlabeled/thepaper-1.html": "张珺",
    "zh-web-unlabeled/sina-1.html": "张迪",
}


def _page(rel: str) -> bytes:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"corpus page {path} is absent")
    return path.read_bytes()


@pytest.mark.parametrize("rel", sorted(PAGES))
def test_annotated_page(rel):
    headline, date, source, authors = PAGES[rel]
    art = extract(_page(rel), f"http://example.com/{rel}")
    assert art.isArticle
    assert art.headline == headline
    assert art.datePublished and art.datePublished.startswith(date)
    assert art.source == source
    assert art.authors == authors
    if rel in EDITORS:
        assert art.editor == EDITORS[rel]
    assert len(art.articleBody) > 100


def test_editor_lines_and_disclaimers_stay_out_of_the_body():
    art = extract(_page("portal-pages/cjn.cn/1.html"), "http://news.cjn.cn/sywh/202010/t3714581.htm")
    assert art.articleBody.startswith("长江网10月4日讯（记者陈智 整合）")
    assert art.articleBody.endswith("（资料来源：参考消息、海外网等）")
    assert "编辑" not in art.articleBody


def test_gb2312_declared_utf8_page_is_decoded_as_utf8():
    art = extract(_page("portal-pages/people.com.cn/1.html"), "http://culture.people.com.cn/x.html",
                  headers={"Content-Type": "text/html; charset=GB2312"})
    assert art.encoding == "utf-8"
    assert art.articleBody.startswith("父亲的教诲像一盏灯")


def test_pages_under_a_german_aside_and_dotted_dates():
    # rnz.de wraps the article in <aside>; the page shows "12.10.2015, 19:16 Uhr" but its
    # itemprop=dateCreated says 2019-05-07T17:00:52+02:00 (metadata wins: it carries an offset).
    art = extract(_page("portal-pages/rnz.de/rnz.de.witzel.html"), "https://www.rnz.de/x_arid,133484.html")
    assert art.headline == "Frank Witzel erhält Deutschen Buchpreis 2015"
    assert art.articleBody.startswith("Frankfurt/Main (dpa) - Für einen Roman über die alte Bundesrepublik")
    assert art.inLanguage == "de"


def test_images_are_absolute_with_the_caption_printed_under_them():
    # cjn.cn: <center><img alt="点击查看高清原图" src="./W020201004753948174832.jpeg"></center> then a <p>
    # holding the caption; the alt text names the widget, not the picture.
    art = extract(_page("portal-pages/cjn.cn/1.html"), "http://news.cjn.cn/sywh/202010/t3714581.htm")
    first = art.images[0]
    assert first.url == "http://news.cjn.cn/sywh/202010/W020201004753948174832.jpeg"
    assert first.caption == "英国《泰晤士报》网站题为《蓬勃发展的武汉再次充满欢声笑语》的报道截图。"
    assert art.mainImage == first.url
