"""Dates as printed on Chinese and Western news pages → ISO 8601 with the portal's UTC offset.

Hand-written regexes instead of dateparser: dateparser.search_dates took ~40 ms on one page's meta
line (measured here), more than the whole extraction budget; these patterns take microseconds.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

_SEP = r"\s*[-/.年]\s*"
# 2024-3-23 20:21:02 / 2022年02月12日 09:30 / 2022.01.20 16:31 / 2020-10-04T20:30:00+08:00
ZH_DATE = re.compile(
    r"(?<!\d)(?P<y>(?:19|20)\d{2})" + _SEP + r"(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})(?!\d)\s*日?"
    r"(?:\s*(?:T|\s|[(（]?星期.[)）]?|[(（]?周.[)）]?|上午|下午)*\s*"
    r"(?P<H>\d{1,2})\s*[:：时時点點]\s*(?P<M>\d{1,2})(?!\d)(?:\s*[:：分]\s*(?P<S>\d{1,2})(?:\.\d+)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2}(?!\d))?)?"
)
# US order as Windows/ASP pages print it: 7/5/2005 9:23:57 PM (day first when the first number > 12).
US_DATE = re.compile(
    r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>(?:19|20)\d{2})(?![\d/])"
    r"(?:\s*(?:\s|-|,|at)\s*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ap>[AaPp][Mm])?)?")
# Day first with dots, as German/Russian/… pages print it: 12.10.2015, 19:16 Uhr
DOT_DATE = re.compile(
    r"(?<![\d.])(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.\s?(?P<y>(?:19|20)\d{2})(?![\d.])"
    r"(?:,?\s*(?:um\s*|в\s*)?(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?")
# A year and month only (some archives print 1998-3 or 1998年3月).
ZH_MONTH = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})\s*(?:年|-)\s*(?P<m>\d{1,2})(?!\d)\s*月?")
_MONTHS = {m: i + 1 for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])}
EN_DATE = re.compile(
    r"(?:(?P<d1>\d{1,2})(?:st|nd|rd|th)?\.?\s+(?P<mon1>[A-Z][a-z]{2,8})\.?,?\s+(?P<y1>(?:19|20)\d{2})"
    r"|(?P<mon2>[A-Z][a-z]{2,8})\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>(?:19|20)\d{2}))"
    r"(?:,?\s*(?:at\s*)?(?P<H>\d{1,2}):(?P<M>\d{2})\s*(?P<ap>[AaPp]\.?[Mm]\.?)?)?"
)
# Dates in URLs: /2024/03/23/, /202403/23/, /2024-03/23/, t20180817_
URL_DATE = re.compile(
    r"(?<!\d)(?P<y>20\d{2})[-/_]?(?P<m>0[1-9]|1[0-2])[-/_]?(?P<d>0[1-9]|[12]\d|3[01])(?!\d)")


class ParsedDate:
    __slots__ = ("raw", "iso", "precision")

    def __init__(self, raw: str, iso: str, precision: str):
        self.raw = raw
        self.iso = iso
        self.precision = precision  # "second", "minute", "day", "month"

    def __repr__(self) -> str:
        return f"ParsedDate({self.raw!r}, {self.iso!r})"


def _tzinfo(tz: str | None) -> ZoneInfo | timezone:
    try:
        return ZoneInfo(tz or "Asia/Shanghai")
    except Exception:
        return timezone(timedelta(hours=8))


def _build(raw: str, y: int, m: int, d: int, hh: int | None, mm: int | None, ss: int | None,
           tzs: str | None, tz: str | None) -> ParsedDate | None:
    try:
        naive = datetime(y, m, d, hh or 0, mm or 0, ss or 0)
    except ValueError:
        return None
    if naive.year > datetime.now().year + 1:
        return None
    if tzs:
        if tzs == "Z":
            tzi: timezone | ZoneInfo = UTC
        else:
            s = tzs.replace(":", "")
            off = timedelta(hours=int(s[1:3]), minutes=int(s[3:5]))
            tzi = timezone(-off if s[0] == "-" else off)
    else:
        tzi = _tzinfo(tz)
    dt = naive.replace(tzinfo=tzi)
    precision = "day" if hh is None else ("minute" if ss is None else "second")
    return ParsedDate(raw.strip(), dt.isoformat(), precision)


def _from_zh(m: re.Match[str], tz: str | None) -> ParsedDate | None:
    g = m.groupdict()
    hh = int(g["H"]) if g["H"] is not None else None
    if hh is not None and hh > 23:
        return None
    return _build(m.group(0), int(g["y"]), int(g["m"]), int(g["d"]), hh,
                  int(g["M"]) if g["M"] is not None else None,
                  int(g["S"]) if g["S"] is not None else None, g["tz"], tz)


def _from_en(m: re.Match[str], tz: str | None) -> ParsedDate | None:
    g = m.groupdict()
    mon = (g["mon1"] or g["mon2"] or "")[:3].lower()
    if mon not in _MONTHS:
        return None
    y, d = int(g["y1"] or g["y2"]), int(g["d1"] or g["d2"])
    hh = int(g["H"]) if g["H"] else None
    if hh is not None and g["ap"]:
        pm = g["ap"][0] in "pP"
        hh = (hh % 12) + (12 if pm else 0)
    return _build(m.group(0), y, _MONTHS[mon], d, hh, int(g["M"]) if g["M"] else None, None, None, tz)


def parse_date(text: str, tz: str | None = None) -> ParsedDate | None:
    """The first date in ``text`` (Chinese/ISO numeric forms first, then English month names)."""
    if not text:
        return None
    for m in ZH_DATE.finditer(text):
        p = _from_zh(m, tz)
        if p:
            return p
    for m in EN_DATE.finditer(text):
        p = _from_en(m, tz)
        if p:
            return p
    for m in DOT_DATE.finditer(text):
        g = m.groupdict()
        p = _build(m.group(0), int(g["y"]), int(g["m"]), int(g["d"]), int(g["H"]) if g["H"] else None,
                   int(g["M"]) if g["M"] else None, int(g["S"]) if g["S"] else None, None, tz)
        if p:
            return p
    for m in US_DATE.finditer(text):
        a, b = int(m.group("a")), int(m.group("b"))
        mon, day = (b, a) if a > 12 else (a, b)
        hh = int(m.group("H")) if m.group("H") else None
        if hh is not None and m.group("ap"):
            hh = hh % 12 + (12 if m.group("ap")[0] in "pP" else 0)
        p = _build(m.group(0), int(m.group("y")), mon, day, hh,
                   int(m.group("M")) if m.group("M") else None,
                   int(m.group("S")) if m.group("S") else None, None, tz)
        if p:
            return p
    return None


def parse_month(text: str, tz: str | None = None) -> ParsedDate | None:
    m = ZH_MONTH.search(text)
    if not m or not 1 <= int(m.group("m")) <= 12:
        return None
    p = _build(m.group(0), int(m.group("y")), int(m.group("m")), 1, None, None, None, None, tz)
    if p:
        p.precision = "month"
    return p


def date_from_url(url: str, tz: str | None = None) -> ParsedDate | None:
    m = URL_DATE.search(url)
    if not m:
        return None
    return _build(m.group(0), int(m.group("y")), int(m.group("m")), int(m.group("d")), None, None, None,
                  None, tz)
