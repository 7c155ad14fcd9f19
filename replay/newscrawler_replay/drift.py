"""Layout drift: the article pages of portals that were redesigned without notice (issue 8).

`generate(..., drift=["jzrb", "hnr"])` renders those portals' article pages with these templates instead of
templates.py's. Each redesign renames the containers and classes (so a profile's selectors match nothing),
rewords the 来源 / author / editor labels into ones the extractor does not know, and moves the publication
date from under the headline to the foot of the page, past the related and ranking lists, without a label.
The generic extractor still finds headline and body; what goes missing is date, source and people — the
silent breakage monitors must catch. hnr's new CMS also moved its articles to URLs that its profile's
`article_url_pattern` does not match, so its columns bring no article link at all.

DRIFTS is written into the manifest (`drift`), so tests know what to expect of each drifted portal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from newscrawler_replay import templates
from newscrawler_replay.model import Column, Placement
from newscrawler_replay.templates import _a, _e, _paras, _related

DRIFTS: dict[str, dict] = {
    "jzrb": {
        "headline": "h1.title → h1.news-tit",
        "articleBody": "div.pcbdmap#zoom → div.news-txt",
        "datePublished": "from the 更新时间 line under the headline to the page's foot, unlabelled",
        "source": "来源: → 供稿：",
        "authors": "作者: → 采写：",
        "editor": "文章编辑: → 审核：",
    },
    "dahe": {
        "headline": "h1#4g_title → h1.detail-title (profile selector //h1[@id=\"4g_title\"] matches nothing)",
        "articleBody": "div#mainCon → div.detail-content (profile selector div#mainCon matches nothing)",
        "datePublished": "p.time under the headline → span.pubtime at the page's foot, unlabelled (selector "
                         "p.time matches nothing)",
        "source": "p#source_baidu 来源： → span.media 稿件提供： (selector p#source_baidu matches nothing)",
        "authors": "p#author_baidu 作者： → span.writer 文字：",
        "editor": "p#editor_baidu 编辑： → p.duty 审校： (selector p#editor_baidu matches nothing)",
    },
    "hnr": {
        "headline": "h1.title → h1.art-title",
        "articleBody": "div#text_fix → div.art-text (profile selector div#text_fix matches nothing)",
        "datePublished": "span.time under the headline → div.art-end at the page's foot, unlabelled",
        "source": "来源： → 本文转自：",
        "authors": "作者： → 撰写：",
        "editor": "责编： → 监制：",
        "urls": "articles moved from http://news.hnr.cn/YYYYMM/DD/ID.html to http://news.hnr.cn/a/YYYYMMDD/ID.shtml "
                "(the profile's article_url_pattern matches none of the links on the columns)",
    },
    "lyd": {
        "headline": "div.article h1 → div.art-wrap h1.art-h",
        "articleBody": "div.content#content → div.art-body",
        "datePublished": "from the line under the headline to the page's foot, unlabelled",
        "source": "来源： → 内容来自：",
        "authors": "作者： → 采写：",
        "editor": "责任编辑： → 终审：",
    },
}
# The portal whose article URLs changed shape, and the new shape.
URL_DRIFT = {"hnr": lambda c, d, i: f"http://news.hnr.cn/a/{d:%Y%m%d}/{i}.shtml"}


def article_url(site: str, column: Column, when: datetime, number: int) -> str | None:
    """The drifted URL of an article, or None when the portal kept its URL shape."""
    make = URL_DRIFT.get(site)
    return make(column, when, number) if make else None


def _ranking(items: Sequence[tuple[str, str]]) -> str:
    """A 热点排行 list: what pushes the foot (and the date now printed there) far from the headline."""
    return "\n".join(f'<li><em>{n}</em><a href="{_a(u)}" target="_blank">{_e(h)}</a></li>'
                     for n, (u, h) in enumerate(items, 1))


def _byline(label: str, values: Sequence[str], cls: str) -> str:
    return f'<span class="{cls}">{label}{_e(" ".join(values))}</span>' if values else ""


def jzrb_article(p: Placement) -> list[str]:
    crumbs = " &gt; ".join(f'<a href="{_a(p.column.url if i else "http://www.jzrb.com/")}">{_e(c)}</a>'
                           for i, c in enumerate(p.column.crumbs))
    attr = (f'<div class="news-attr"><span class="from">供稿：{_e(p.source)}</span>'
            f'{_byline("采写：", p.authors, "writer")}</div>')
    body = _paras(p.paragraphs)
    repeat = ""
    if p.double:
        repeat = f"""<div class="news-print">
<h2>{_e(p.headline)}</h2>
{attr}
<div class="news-txt">
{body}
</div>
<div class="audit">审核：{_e(p.editor)}</div>
</div>"""
    return [f"""{templates._jzrb_head(f"{p.headline}_焦作网")}<div class="crumb">{crumbs} &gt; 正文</div>
<div class="wrap">
<div class="news-main">
<h1 class="news-tit">{_e(p.headline)}</h1>
{attr}
<div class="share">分享到: <a href="javascript:;" class="wx">微信</a>
<a href="javascript:;" class="wb">微博</a> <a href="javascript:;" class="qq">QQ空间</a></div>
<div class="news-txt">
{body}
</div>
<div class="audit">审核：{_e(p.editor)}</div>
{templates.JZRB_DISCLAIMER}
</div>
{repeat}
<div class="xgxw"><h3>相关新闻</h3><ul>
{_related(p.related)}
</ul></div>
<div class="hot-rank"><h3>热点排行</h3><ol>
{_ranking(p.ranking)}
</ol></div>
<div class="news-foot"><span class="pubtime">{_e(p.date_raw)}</span></div>
</div>
{templates.JZRB_FOOT}"""]


def dahe_article(p: Placement) -> list[str]:
    crumbs = " &gt; ".join(f"<a href=\"{_a(p.column.url if i else 'https://www.dahe.cn/')}\">{_e(c)}</a>"
                           for i, c in enumerate(p.column.crumbs))
    return [f"""{templates._dahe_head(f"{p.headline}-大河网")}<div class="bread">当前位置：{crumbs} &gt; 正文</div>
<div class="detail">
<h1 class="detail-title">{_e(p.headline)}</h1>
<div class="detail-meta">
<span class="media">稿件提供：<a href="https://www.dahe.cn/" target="_blank">{_e(p.source)}</a></span>
{_byline("文字：", p.authors, "writer")}</div>
<div class="share">分享：<a href="javascript:;">微信</a><a href="javascript:;">微博</a>
<a href="javascript:;">QQ</a></div>
<div class="detail-content">
{_paras(p.paragraphs)}
</div>
<p class="duty">审校：{_e(p.editor)}</p>
</div>
<div class="related"><h3>相关阅读</h3><ul>
{_related(p.related)}
</ul></div>
<div class="rank"><h3>热点排行</h3><ol>
{_ranking(p.ranking)}
</ol></div>
<div class="detail-foot"><span class="pubtime">{_e(p.date_raw)}</span></div>
{templates.DAHE_FOOT}"""]


def hnr_article(p: Placement) -> list[str]:
    head = templates._hnr_head(f"{p.headline}_映象网", "gb2312" if p.meta_mismatch else "utf-8")
    return [f"""{head}<div class="location">当前位置：
<a href="http://www.hnr.cn/">映象网</a> &gt;
<a href="{_a(p.column.url)}">{_e(p.column.name)}</a></div>
<div class="art">
<h1 class="art-title">{_e(p.headline)}</h1>
<div class="art-meta"><span class="from">本文转自：{_e(p.source)}</span>{_byline("撰写：", p.authors, "writer")}</div>
<div class="art-text">
{_paras(p.paragraphs)}
</div>
<div class="art-duty">监制：{_e(p.editor)}</div>
<div class="share">分享到：微信 微博 QQ空间</div>
</div>
<div class="tuijian"><h3>推荐阅读</h3><ul>
{_related(p.related)}
</ul></div>
<div class="paihang"><h3>热点排行</h3><ol>
{_ranking(p.ranking)}
</ol></div>
<div class="art-end">{_e(p.date_raw)}</div>
{templates.HNR_FOOT}"""]


def lyd_article(p: Placement) -> list[str]:
    n = p.pages
    per = -(-len(p.paragraphs) // n)
    pages = []
    for i in range(n):
        chunk = p.paragraphs[i * per:(i + 1) * per]
        nav = ""
        if n > 1:
            links = []
            for j in range(n):
                href = templates.lyd_page_url(p.url, j).rsplit("/", 1)[1]
                links.append(f"<b>{j + 1}</b>" if j == i else f'<a href="{href}">{j + 1}</a>')
            if i < n - 1:
                links.append(f'<a href="{templates.lyd_page_url(p.url, i + 1).rsplit("/", 1)[1]}">下一页</a>')
            nav = f'<div class="art-pager">{" ".join(links)}</div>'
        editor = f'<div class="art-duty">终审：{_e(p.editor)}</div>' if i == n - 1 else ""
        pages.append(f"""{templates._lyd_head(f"{p.headline}_洛阳网")}<div class="path">您当前的位置 ：
<a href="http://www.lyd.com.cn/">洛阳网</a> &gt;&gt;
<a href="{_a(p.column.url)}">{_e(p.column.name)}</a> &gt;&gt; 正文</div>
<div class="art-wrap">
<h1 class="art-h">{_e(p.headline)}</h1>
<div class="art-src">内容来自：{_e(p.source)}{"　" + _byline("采写：", p.authors, "writer") if p.authors else ""}</div>
<div class="art-body">
{_paras(chunk)}
</div>
{nav}
{editor}
</div>
<div class="xgxw"><h3>相关新闻</h3><ul>
{_related(p.related)}
</ul></div>
<div class="rank"><h3>热点排行</h3><ol>
{_ranking(p.ranking)}
</ol></div>
<div class="art-time">{_e(p.date_raw)}</div>
{templates.LYD_FOOT}""")
    return pages


ARTICLE = {"jzrb": jzrb_article, "dahe": dahe_article, "hnr": hnr_article, "lyd": lyd_article}
