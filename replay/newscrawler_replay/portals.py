"""How each replayed portal shapes its URLs, dates and bylines (after shared/notes/portals.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from newscrawler_replay.model import Column


@dataclass(frozen=True)
class SiteSpec:
    site: str
    home: str
    encoding: str  # the bytes on the wire
    columns: tuple[Column, ...]
    first_id: int
    article_url: Callable[[Column, datetime, int], str]
    date_raw: Callable[[datetime], str]
    list_date: Callable[[datetime], str]
    # The format shows no seconds: stored times are truncated to the minute so the manifest is exact.
    minute_precision: bool
    local_sources: tuple[str, ...]
    wire_sources: tuple[str, ...]
    city: str | None = None
    counties: tuple[str, ...] = ()


def _jzrb_date(d: datetime) -> str:
    # Month, day and hour are not zero-padded on jzrb: 2024-3-23 20:21:02, 2022-6-20 9:14:44.
    return f"{d.year}-{d.month}-{d.day} {d.hour}:{d.minute:02d}:{d.second:02d}"


SITES: dict[str, SiteSpec] = {
    "jzrb": SiteSpec(
        site="jzrb", home="http://www.jzrb.com/", encoding="gbk",
        columns=(
            Column("jzrb", "bendi", "焦作新闻", "http://www.jzrb.com/news/bendi/",
                   "http://www.jzrb.com/news/bendi/index_{n}.shtml", ("焦作网", "新闻中心首页", "焦作新闻"),
                   "www.jzrb.com"),
            Column("jzrb", "tuijian", "新闻推荐", "http://www.jzrb.com/news/tuijian/",
                   "http://www.jzrb.com/news/tuijian/index_{n}.shtml", ("焦作网", "新闻推荐", "副头条"),
                   "www.jzrb.com"),
        ),
        first_id=820000,
        article_url=lambda c, d, i: f"http://www.jzrb.com/news/{c.key}/{d:%Y%m}/{i}.shtml",
        date_raw=_jzrb_date, list_date=lambda d: f"{d.year}-{d.month}-{d.day}", minute_precision=False,
        local_sources=("焦作日报", "焦作日报", "焦作晚报", "焦作网"),
        wire_sources=("新华社", "央视网", "河南日报", "人民网"),
        city="焦作",
        counties=("修武县", "博爱县", "武陟县", "温县", "沁阳市", "孟州市", "解放区", "山阳区", "中站区", "马村区"),
    ),
    "dahe": SiteSpec(
        site="dahe", home="http://news.dahe.cn/", encoding="utf-8",
        columns=(
            Column("dahe", "hnyw", "河南要闻", "http://news.dahe.cn/hnyw/", "http://news.dahe.cn/hnyw/index_{n}.html",
                   ("大河网", "河南要闻"), "news.dahe.cn"),
            Column("dahe", "jiaozuo", "焦作", "http://city.dahe.cn/jiaozuo/",
                   "http://city.dahe.cn/jiaozuo/index_{n}.html", ("大河网", "城市频道", "焦作"), "city.dahe.cn"),
        ),
        first_id=1750000,
        article_url=lambda c, d, i: f"http://{c.article_host}/{d:%Y}/{d:%m-%d}/{i}.html",
        date_raw=lambda d: f"{d:%Y-%m-%d %H:%M}", list_date=lambda d: f"{d:%m-%d}", minute_precision=True,
        local_sources=("大河网", "大河网", "河南日报", "大河报"), wire_sources=("新华社", "人民网"),
    ),
    "hnr": SiteSpec(
        site="hnr", home="http://news.hnr.cn/", encoding="utf-8",
        columns=(
            Column("hnr", "hnxw", "河南新闻", "http://news.hnr.cn/hnxw/", "http://news.hnr.cn/hnxw/{n}.html",
                   ("映象网", "河南新闻"), "news.hnr.cn"),
            Column("hnr", "shehui", "社会", "http://news.hnr.cn/shehui/", "http://news.hnr.cn/shehui/{n}.html",
                   ("映象网", "社会"), "news.hnr.cn"),
        ),
        first_id=3400000,
        article_url=lambda c, d, i: f"http://news.hnr.cn/{d:%Y%m}/{d:%d}/{i}.html",
        date_raw=lambda d: f"{d:%Y-%m-%d %H:%M:%S}", list_date=lambda d: f"{d:%Y-%m-%d}", minute_precision=False,
        local_sources=("映象网", "映象网", "河南广播电视台"), wire_sources=("新华社", "央视新闻"),
    ),
    "lyd": SiteSpec(
        site="lyd", home="http://news.lyd.com.cn/", encoding="gbk",
        columns=(
            Column("lyd", "lyxw", "洛阳新闻", "http://news.lyd.com.cn/lyxw/", "http://news.lyd.com.cn/lyxw/index_{n}.shtml",
                   ("洛阳网", "洛阳新闻"), "news.lyd.com.cn"),
        ),
        first_id=12000000,
        article_url=lambda c, d, i: f"http://news.lyd.com.cn/system/{d:%Y/%m/%d}/0{i:08d}.shtml",
        date_raw=lambda d: f"{d:%Y年%m月%d日 %H:%M}", list_date=lambda d: f"{d:%Y-%m-%d}", minute_precision=True,
        local_sources=("洛阳日报", "洛阳日报", "洛阳晚报", "洛阳网"), wire_sources=("新华社",),
        city="洛阳", counties=("偃师区", "孟津区", "新安县", "栾川县", "嵩县", "汝阳县", "宜阳县", "洛宁县", "伊川县"),
    ),
}

# Hosts that answer for another host's paths (jzrb links articles both with and without www.).
HOST_ALIASES = {"jzrb.com": "www.jzrb.com"}
