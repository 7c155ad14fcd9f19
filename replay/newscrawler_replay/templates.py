"""HTML templates of the four replayed portals, after their real layouts (shared/notes/portals.md).

Each portal has `article(p) -> [html, ...]` (one string per page of a multi-page article), `column(...)` and
`home(...)`. The chrome (nav, share bar, related list, footer) is there on purpose: extraction against the
replay should be as hard as against the real pages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from newscrawler_replay.model import Column, Placement

ListItem = tuple[str, str, str]  # (href, headline, date shown in the list)


def _e(text: str) -> str:
    return escape(text, quote=False)


def _a(text: str) -> str:
    return escape(text, quote=True)


def _paras(paragraphs: Sequence[str]) -> str:
    return "\n".join(f"<p>{_e(t)}</p>" for t in paragraphs)


def _related(items: Sequence[tuple[str, str]], tag: str = "li") -> str:
    return "\n".join(f'<{tag}><a href="{_a(u)}" target="_blank">{_e(h)}</a></{tag}>' for u, h in items)


def _pager(col: Column, page: int, npages: int, href: Callable[[int], str], prev: str = "上一页",
           nxt: str = "下一页") -> str:
    """首页 上一页 1 2 … 下一页 尾页, with a window of numbers as CMS list pages print them."""
    parts = [f'<a href="{href(1)}">首页</a>']
    if page > 1:
        parts.append(f'<a href="{href(page - 1)}">{prev}</a>')
    for n in range(max(1, page - 4), min(npages, page + 5) + 1):
        parts.append(f"<span class=\"current\">{n}</span>" if n == page else f'<a href="{href(n)}">{n}</a>')
    if page < npages:
        parts.append(f'<a href="{href(page + 1)}">{nxt}</a>')
    parts.append(f'<a href="{href(npages)}">尾页</a>')
    parts.append(f"<span>共{npages}页</span>")
    return " ".join(parts)


def _rel_page(col: Column, first: str) -> Callable[[int], str]:
    """Pagination hrefs relative to the column folder, as these CMSs write them."""
    name = col.page_pattern.rsplit("/", 1)[1]
    return lambda n: first if n == 1 else name.format(n=n)


# ---------------------------------------------------------------- 焦作网 jzrb (GB2312 declared, GBK bytes)

JZRB_NAV = ["新闻", "国内", "国际", "河南", "焦作", "时政要闻", "县区", "直播", "网视", "网谈", "网评", "今日头条",
            "汽车", "旅游", "经济", "美食", "热点专题", "房产", "娱乐", "体育", "健康"]
JZRB_NAV_PATHS = ["news/", "news/guonei/", "news/guoji/", "news/henan/", "news/bendi/", "news/szyw/",
                  "news/xianqu/", "live/", "tv/", "wt/", "wp/", "news/tuijian/", "auto/", "travel/", "finance/",
                  "food/", "zt/", "house/", "ent/", "sports/", "health/"]


def _jzrb_head(title: str) -> str:
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>{_e(title)}</title>
<meta name="keywords" content="焦作,焦作网,焦作日报,焦作新闻" />
<link href="http://www.jzrb.com/css/style.css" rel="stylesheet" type="text/css" />
<script type="text/javascript" src="http://www.jzrb.com/js/Std_StranJF.Js"></script>
</head>
<body>
<a name="top"></a>
<div class="ewm"><img src="http://www.jzrb.com/images/ewm.jpg" alt="" /><p>二维码</p><p>扫一扫加入微信公众号</p></div>
<div class="gotop"><a href="#top">Top</a></div>
<div class="nav"><ul>
<li><a href="http://jzrb.com/">网站首页</a></li>
{"".join(f'<li><a href="http://www.jzrb.com/{p}">{n}</a></li>' for n, p in zip(JZRB_NAV, JZRB_NAV_PATHS, strict=True))}
</ul></div>
<div class="mtjz"><a href="http://epaper.jzrb.com/">焦作日报</a> 新媒体矩阵 <a href="http://epaper.jzrb.com/wb/">焦作晚报</a>
“焦作+”客户端 订报服务 焦作市网络辟谣平台 网上投稿 焦作市互联网举报中心</div>
"""


JZRB_FOOT = """<div class="footer">
<p><a href="http://www.jzrb.com/about/bq.shtml">版权声明</a> | <a href="http://www.jzrb.com/about/">焦作日报社简介</a> |
<a href="http://www.jzrb.com/about/wz.shtml">焦作网简介</a> | 网上订报 | 联系我们</p>
<p>版权所有:河南省焦作日报社 未经授权,请勿转载或建立镜像。</p>
<p>《焦作日报》遗失声明热线:(0391)8797096 邮编:454002</p>
<p>本网违法和不良信息举报电话:(0391)8797000 举报邮箱:jzrbcn@163.com</p>
<p>河南省“网络敲诈和有偿删帖”专项整治工作热线:0371-65598032 举报网站:www.henanjubao.com</p>
<p>公安部网络违法犯罪举报网 河南省互联网违法和不良信息举报中心 豫ICP备14012713号-1</p>
<p>焦公网安备4108000005 豫公网安备41080202000004号 互联网新闻信息服务许可证号:41120180013</p>
<p>信息网络传播视听节目许可证号:11642120 地址:焦作市人民路1159号 报业·国贸大厦</p>
</div>
<div class="ewm2"><p>扫一扫在手机打开当前页</p><p>版权所有:河南省焦作日报社 未经授权,请勿转载或建立镜像。</p>
<p>互联网新闻信息服务许可证:41120180013 电话:(0391)8797000</p></div>
</body>
</html>
"""

JZRB_DISCLAIMER = """<div class="mzsm"><p>焦作网免责声明:</p>
<p>本网所有稿件,未经许可不得转载。</p>
<p>转载稿件不代表本网观点,如有异议请联系我们即可处理。</p>
<p>刊发、转载的稿件,作者可联系本网申领稿酬。</p></div>"""


def jzrb_article(p: Placement) -> list[str]:
    crumbs = " &gt; ".join(f'<a href="{_a(p.column.url if i else "http://www.jzrb.com/")}">{_e(c)}</a>'
                           for i, c in enumerate(p.column.crumbs))
    byline = f"&nbsp;&nbsp;&nbsp;&nbsp;作者:{_e(' '.join(p.authors))}" if p.authors else ""
    info = f"{_e(p.date_raw)}&nbsp;&nbsp;&nbsp;&nbsp;来源:{_e(p.source)}{byline}"
    body = _paras(p.paragraphs)
    repeat = ""
    if p.double:
        # The seed page carries its article a second time below the disclaimer (a print/mobile block).
        repeat = f"""<div class="content_print">
<h2>{_e(p.headline)}</h2>
<div class="info">{info}</div>
<div class="pcbdmap">
{body}
</div>
<div class="bianji">文章编辑:{_e(p.editor)} </div>
</div>"""
    html = f"""{_jzrb_head(f"{p.headline}_焦作网")}<div class="position">您现在的位置: {crumbs} &gt; 正文</div>
<div class="lmname">{_e(p.column.name)}</div>
<div class="main">
<div class="content">
<h1 class="title">{_e(p.headline)}</h1>
<div class="info">更新时间:{info}</div>
<div class="share">分享到: <a href="javascript:;" class="wx">微信</a>
<a href="javascript:;" class="wb">微博</a> <a href="javascript:;" class="qq">QQ空间</a></div>
<div class="pcbdmap" id="zoom">
{body}
</div>
<div class="bianji">文章编辑:{_e(p.editor)} </div>
{JZRB_DISCLAIMER}
</div>
{repeat}
<div class="xgxw"><h3>相关新闻</h3><ul>
{_related(p.related)}
</ul></div>
</div>
{JZRB_FOOT}"""
    return [html]


def jzrb_column(col: Column, items: Sequence[ListItem], page: int, npages: int) -> str:
    # The old ASP list layout (div.lmzj table rows: bullet, link, date) survived the move to .shtml.
    rows = "\n".join(f'<tr><td class="dot">·</td><td><a href="{_a(u)}" target="_blank">{_e(h)}</a></td>'
                     f"<td>{_e(d)}</td></tr>" for u, h, d in items)
    return f"""{_jzrb_head(f"{col.name}_焦作网")}<div class="position">您现在的位置:
<a href="http://www.jzrb.com/">焦作网</a> &gt; {_e(col.name)}</div>
<div class="lmzj"><table width="100%" cellspacing="0" cellpadding="0">
{rows}
</table></div>
<div class="page">{_pager(col, page, npages, _rel_page(col, "./"))}</div>
{JZRB_FOOT}"""


def jzrb_home(columns: Sequence[Column], latest: dict[str, Sequence[ListItem]]) -> str:
    blocks = []
    for col in columns:
        blocks.append(f"""<div class="box"><h2><a href="{_a(col.url)}">{_e(col.name)}</a>
<a class="more" href="{_a(col.url)}">更多&gt;&gt;</a></h2>
<ul>{"".join(f'<li><a href="{_a(u)}" target="_blank">{_e(h)}</a></li>' for u, h, _ in latest[col.key])}</ul></div>""")
    return f"""{_jzrb_head("焦作网_焦作日报社主办")}<div class="banner"><a href="http://www.jzrb.com/zt/">
<img src="http://www.jzrb.com/images/banner.jpg" alt="专题" /></a></div>
{"".join(blocks)}
<div class="links">友情链接: <a href="http://www.dahe.cn/">大河网</a> <a href="http://www.hnr.cn/">映象网</a> <a href="http://www.lyd.com.cn/">洛阳网</a></div>
{JZRB_FOOT}"""


# ---------------------------------------------------------------- 大河网 dahe (UTF-8, Baidu-style ids)

DAHE_NAV = [("首页", "https://www.dahe.cn/"), ("河南要闻", "http://news.dahe.cn/hnyw/"), ("焦作", "http://city.dahe.cn/jiaozuo/"),
            ("时政", "http://news.dahe.cn/szxw/"), ("评论", "http://opinion.dahe.cn/"), ("财经", "http://finance.dahe.cn/"),
            ("文旅", "http://travel.dahe.cn/"), ("视频", "http://v.dahe.cn/"), ("图片", "http://photo.dahe.cn/")]


def _dahe_head(title: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<link rel="stylesheet" href="https://static.dahe.cn/css/article.css">
</head>
<body>
<div class="topbar"><a href="https://www.dahe.cn/">大河网</a> |
<a href="https://www.dahe.cn/app/">大河客户端</a> | 河南省重点新闻网站</div>
<div class="nav">{" ".join(f'<a href="{u}">{n}</a>' for n, u in DAHE_NAV)}</div>
"""


DAHE_FOOT = """<div class="footer">
<p>大河网络传媒集团有限公司 版权所有 | <a href="https://www.dahe.cn/about/">关于我们</a> | 联系我们 | 广告服务</p>
<p>互联网新闻信息服务许可证41120170003 豫ICP备13003491号 豫公网安备41010502003015号</p>
<p>违法和不良信息举报电话：0371-96211</p>
</div>
</body>
</html>
"""


def dahe_article(p: Placement) -> list[str]:
    author = f'<p id="author_baidu">作者：{_e(" ".join(p.authors))}</p>' if p.authors else ""
    crumbs = " &gt; ".join(f"<a href=\"{_a(p.column.url if i else 'https://www.dahe.cn/')}\">{_e(c)}</a>"
                           for i, c in enumerate(p.column.crumbs))
    return [f"""{_dahe_head(f"{p.headline}-大河网")}<div class="crumbs">当前位置：{crumbs} &gt; 正文</div>
<div class="article">
<h1 id="4g_title">{_e(p.headline)}</h1>
<div class="info">
<p class="time">{_e(p.date_raw)}</p>
<p id="source_baidu">来源：<a href="https://www.dahe.cn/" target="_blank">{_e(p.source)}</a></p>
{author}
</div>
<div class="share">分享：<a href="javascript:;">微信</a><a href="javascript:;">微博</a>
<a href="javascript:;">QQ</a></div>
<div id="mainCon">
{_paras(p.paragraphs)}
</div>
<p id="editor_baidu">编辑：{_e(p.editor)}</p>
</div>
<div class="related"><h3>相关阅读</h3><ul>
{_related(p.related)}
</ul></div>
<div class="hot"><h3>热点推荐</h3><ul><li><a href="http://news.dahe.cn/zt/">大河专题</a></li></ul></div>
{DAHE_FOOT}"""]


def dahe_column(col: Column, items: Sequence[ListItem], page: int, npages: int) -> str:
    lis = "\n".join(f'<li><a href="{_a(u)}" target="_blank">{_e(h)}</a><span class="date">{_e(d)}</span></li>'
                    for u, h, d in items)
    return f"""{_dahe_head(f"{col.name}-大河网")}<div class="crumbs">当前位置：
<a href="https://www.dahe.cn/">大河网</a> &gt; {_e(col.name)}</div>
<div class="list"><ul>
{lis}
</ul></div>
<div class="pagination">{_pager(col, page, npages, _rel_page(col, "./"))}</div>
{DAHE_FOOT}"""


def dahe_home(columns: Sequence[Column], latest: dict[str, Sequence[ListItem]]) -> str:
    blocks = "".join(
        f'<div class="box"><h2><a href="{_a(c.url)}">{_e(c.name)}</a></h2><ul>'
        + "".join(f'<li><a href="{_a(u)}">{_e(h)}</a></li>' for u, h, _ in latest[c.key]) + "</ul></div>"
        for c in columns)
    return f"""{_dahe_head("大河网_河南新闻门户")}<div class="focus">{blocks}</div>
{DAHE_FOOT}"""


# ---------------------------------------------------------------- 映象网 hnr (UTF-8; /2.html pagination)

def _hnr_head(title: str, meta_charset: str = "utf-8") -> str:
    return f"""<!DOCTYPE html>
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset={meta_charset}" />
<title>{_e(title)}</title>
<link rel="stylesheet" href="http://news.hnr.cn/static/css/news.css" />
</head>
<body>
<div class="header"><a href="http://www.hnr.cn/" class="logo">映象网</a>
<ul class="menu"><li><a href="http://www.hnr.cn/">首页</a></li><li><a href="http://news.hnr.cn/">新闻</a></li>
<li><a href="http://news.hnr.cn/hnxw/">河南</a></li><li><a href="http://news.hnr.cn/shehui/">社会</a></li>
<li><a href="http://v.hnr.cn/">视频</a></li><li><a href="http://news.hnr.cn/zt/">专题</a></li></ul></div>
"""


HNR_FOOT = """<div class="footer"><p>河南广播电视台主办 映象网版权所有</p>
<p>互联网新闻信息服务许可证号：41120180001 豫ICP备09003427号</p></div>
</body>
</html>
"""


def hnr_article(p: Placement) -> list[str]:
    author = f'<span class="author">作者：{_e(" ".join(p.authors))}</span>' if p.authors else ""
    # The meta-mismatch page declares gb2312 while its bytes are UTF-8, as people.com.cn does.
    head = _hnr_head(f"{p.headline}_映象网", "gb2312" if p.meta_mismatch else "utf-8")
    return [f"""{head}<div class="path">当前位置：
<a href="http://www.hnr.cn/">映象网</a> &gt;
<a href="{_a(p.column.url)}">{_e(p.column.name)}</a></div>
<div class="article">
<h1 class="title">{_e(p.headline)}</h1>
<div class="info"><span class="time">{_e(p.date_raw)}</span>
<span class="source">来源：{_e(p.source)}</span>{author}</div>
<div id="text_fix">
{_paras(p.paragraphs)}
</div>
<div class="zebian">责编：{_e(p.editor)}</div>
<div class="share">分享到：微信 微博 QQ空间</div>
</div>
<div class="tuijian"><h3>推荐阅读</h3><ul>
{_related(p.related)}
</ul></div>
{HNR_FOOT}"""]


def hnr_column(col: Column, items: Sequence[ListItem], page: int, npages: int) -> str:
    lis = "\n".join(f'<li><a href="{_a(u)}">{_e(h)}</a><em>{_e(d)}</em></li>' for u, h, d in items)
    return f"""{_hnr_head(f"{col.name}_映象网")}<div class="path">当前位置：
<a href="http://www.hnr.cn/">映象网</a> &gt; {_e(col.name)}</div>
<ul class="news_list">
{lis}
</ul>
<div class="pages">{_pager(col, page, npages, _rel_page(col, "./"))}</div>
{HNR_FOOT}"""


def hnr_home(columns: Sequence[Column], latest: dict[str, Sequence[ListItem]]) -> str:
    blocks = "".join(
        f'<div class="mod"><h2><a href="{_a(c.url)}">{_e(c.name)}</a></h2><ul>'
        + "".join(f'<li><a href="{_a(u)}">{_e(h)}</a></li>' for u, h, _ in latest[c.key]) + "</ul></div>"
        for c in columns)
    return f"""{_hnr_head("映象网新闻_河南广播电视台")}{blocks}
{HNR_FOOT}"""


# ---------------------------------------------------------------- 洛阳网 lyd (GBK; 下一页 continuation pages)

def _lyd_head(title: str) -> str:
    return f"""<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />
<title>{_e(title)}</title>
<link href="http://news.lyd.com.cn/css/index.css" rel="stylesheet" type="text/css" />
</head>
<body>
<div class="top"><a href="http://www.lyd.com.cn/">洛阳网</a> | <a href="http://news.lyd.com.cn/">新闻</a> |
<a href="http://news.lyd.com.cn/lyxw/">洛阳新闻</a> | <a href="http://news.lyd.com.cn/gnxw/">国内</a> |
<a href="http://bbs.lyd.com.cn/">河洛论坛</a> | <a href="http://epaper.lyd.com.cn/">数字报</a></div>
"""


LYD_FOOT = """<div class="foot"><p>洛阳日报报业集团主办 洛阳网版权所有</p>
<p>豫ICP备05008541号 互联网新闻信息服务许可证编号：41120170005</p></div>
</body>
</html>
"""


def lyd_page_url(url: str, i: int) -> str:
    """Page i (0-based) of a multi-page lyd article: page 0 is the URL itself, then _01, _02."""
    return url if i == 0 else url[: -len(".shtml")] + f"_{i:02d}.shtml"


def lyd_article(p: Placement) -> list[str]:
    n = p.pages
    per = -(-len(p.paragraphs) // n)
    author = f"　作者：{_e(' '.join(p.authors))}" if p.authors else ""
    pages = []
    for i in range(n):
        chunk = p.paragraphs[i * per:(i + 1) * per]
        nav = ""
        if n > 1:
            links = []
            if i > 0:
                links.append(f'<a href="{lyd_page_url(p.url, i - 1).rsplit("/", 1)[1]}">上一页</a>')
            for j in range(n):
                href = lyd_page_url(p.url, j).rsplit("/", 1)[1]
                links.append(f"<span>{j + 1}</span>" if j == i else f'<a href="{href}">{j + 1}</a>')
            if i < n - 1:
                links.append(f'<a href="{lyd_page_url(p.url, i + 1).rsplit("/", 1)[1]}">下一页</a>')
            nav = f'<div class="pages" id="pages">{" ".join(links)}</div>'
        editor = f'<div class="editor">责任编辑：{_e(p.editor)}</div>' if i == n - 1 else ""
        pages.append(f"""{_lyd_head(f"{p.headline}_洛阳网")}<div class="weizhi">您当前的位置 ：
<a href="http://www.lyd.com.cn/">洛阳网</a> &gt;&gt;
<a href="{_a(p.column.url)}">{_e(p.column.name)}</a> &gt;&gt; 正文</div>
<div class="article">
<h1>{_e(p.headline)}</h1>
<div class="info">{_e(p.date_raw)}　来源：{_e(p.source)}{author}</div>
<div class="content" id="content">
{_paras(chunk)}
</div>
{nav}
{editor}
</div>
<div class="xgxw"><h3>相关新闻</h3><ul>
{_related(p.related)}
</ul></div>
{LYD_FOOT}""")
    return pages


def lyd_column(col: Column, items: Sequence[ListItem], page: int, npages: int) -> str:
    lis = "\n".join(f'<li><span>{_e(d)}</span><a href="{_a(u)}" target="_blank">{_e(h)}</a></li>'
                    for u, h, d in items)
    return f"""{_lyd_head(f"{col.name}_洛阳网")}<div class="weizhi">您当前的位置 ：
<a href="http://www.lyd.com.cn/">洛阳网</a> &gt;&gt; {_e(col.name)}</div>
<div class="list"><ul>
{lis}
</ul></div>
<div class="pages">{_pager(col, page, npages, _rel_page(col, "index.shtml"))}</div>
{LYD_FOOT}"""


def lyd_home(columns: Sequence[Column], latest: dict[str, Sequence[ListItem]]) -> str:
    blocks = "".join(
        f'<div class="box"><h2><a href="{_a(c.url)}">{_e(c.name)}</a></h2><ul>'
        + "".join(f'<li><a href="{_a(u)}">{_e(h)}</a></li>' for u, h, _ in latest[c.key]) + "</ul></div>"
        for c in columns)
    return f"""{_lyd_head("洛阳网新闻中心")}{blocks}
{LYD_FOOT}"""


ARTICLE = {"jzrb": jzrb_article, "dahe": dahe_article, "hnr": hnr_article, "lyd": lyd_article}
COLUMN = {"jzrb": jzrb_column, "dahe": dahe_column, "hnr": hnr_column, "lyd": lyd_column}
HOME = {"jzrb": jzrb_home, "dahe": dahe_home, "hnr": hnr_home, "lyd": lyd_home}
