"""Dates: reading them as pages print them, and choosing the article's published and modified dates.

Where each date rule lives:
- reading a printed date ("2024-3-23 20:21:02", "2022年02月12日", "Nov 18, 2019 at 2:26 PM", a URL's
  /2024/03/23/) → ISO 8601 with the portal's UTC offset: here (parse_date, parse_month, date_from_url);
- finding the labelled date in a line ("发布时间：…", "更新时间：…"): labels.py (pubdate_in, moddate_in),
  which holds the label vocabulary and hands the text after the label to parse_date;
- collecting candidate dates around the headline (labelled, bare, far from it): byline.scan_labels;
- structured metadata (JSON-LD, article:published_time, pubtime_baidu): metadata.read_meta, as strings;
- choosing among metadata, labels, a post header, a closing citation and the URL, and the zone a page
  without a profile is read in: here (published, modified, read_as_utc);
- a profile's selector for a date: selectors.py, through parse_date;
- conversion to UTC datetimes and the trust flag (no future, nothing before 1990): normalise/dates.py.

Hand-written regexes instead of dateparser: dateparser.search_dates took ~40 ms on one page's meta
line (measured here), more than the whole extraction budget; these patterns take microseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from newscrawler.extract.content import Block

# The zone of a date printed without an offset when no profile says otherwise: the portals this crawler
# targets are Chinese.
DEFAULT_TIMEZONE = "Asia/Shanghai"

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
# Every form above holds a four-digit year: lines without one are skipped before the four searches
# (16.6 µs a line on average; most lines of a page hold no date).
_YEAR = re.compile(r"(?:19|20)\d\d")
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
        return ZoneInfo(tz or DEFAULT_TIMEZONE)
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
    if not text or not _YEAR.search(text):
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


# ---- choosing the article's dates ----

def local_offset(meta_date: ParsedDate, shown: ParsedDate | None) -> ParsedDate:
    """Metadata often gives UTC while the page shows local time. When the shown time is the same
    instant in another zone (differs by whole quarter hours), express the instant in that zone."""
    if shown is None or shown.precision not in ("minute", "second"):
        return meta_date
    try:
        m = datetime.fromisoformat(meta_date.iso)
        v = datetime.fromisoformat(shown.iso).replace(tzinfo=None)
    except ValueError:
        return meta_date
    utc = m.astimezone(UTC).replace(tzinfo=None)
    if abs((v - utc).days) > 1 and v.day <= 12:  # 06/02/2022 is 6 February in most of the world
        swapped = v.replace(month=v.day, day=v.month)
        if abs((swapped - utc).days) <= 1:
            v = swapped
    diff = v - utc
    minutes = round(diff.total_seconds() / 60)
    if abs(diff.total_seconds() - minutes * 60) > 90 or minutes % 15 or abs(minutes) > 14 * 60:
        return meta_date
    local = m.astimezone(timezone(timedelta(minutes=minutes)))
    return ParsedDate(meta_date.raw, local.isoformat(), meta_date.precision)


def citation_month(lines: Sequence[Block], tz: str | None) -> ParsedDate | None:
    """A reprint's closing citation, "——《北京之春》1998年3月号": the month it was published."""
    for b in lines[-3:]:
        m = re.search(r"《[^》]{1,30}》\s*((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月)", b.text[-40:])
        if m:
            return parse_month(m.group(1), tz)
    return None


def published(meta_date: str | None, lab: dict, anchor_date: ParsedDate | None, lines: Sequence[Block], url: str,
              tz: str | None) -> ParsedDate | None:
    """The publication date, most trusted first: metadata (refined by the time the page shows), labels
    near the headline, a bare date there, labels elsewhere, a post header, a closing citation, the URL."""
    pd = parse_date(meta_date, tz) if meta_date else None
    if pd is not None:
        shown = lab.get("pub") or lab.get("bare")
        if pd.precision == "day" and shown is not None and shown.precision != "day" \
                and shown.iso[:10] == pd.iso[:10]:
            pd = shown  # the page prints the time the metadata left out
        else:
            pd = local_offset(pd, shown)
    return (pd or lab.get("pub") or lab.get("mod") or lab.get("bare") or lab.get("pub_far")
            or lab.get("mod_far") or anchor_date or citation_month(lines, tz) or date_from_url(url, tz))


def modified(meta_date: str | None, lab: dict, tz: str | None) -> ParsedDate | None:
    """The modification date: metadata, else an "updated" label near the headline when a published
    label sits there too (a lone "更新时间" is the publication date, see published)."""
    md = parse_date(meta_date, tz) if meta_date else None
    return md or (lab.get("mod") if lab.get("pub") else None)


def read_as_utc(raw: str | None, iso: str | None) -> str | None:
    """A non-Chinese page with no profile: a date printed without an offset is taken as UTC rather than
    as China's time (the default for the portals this crawler targets). Dates with an offset keep it."""
    if not raw or not iso:
        return iso
    as_utc = parse_date(raw, "UTC")
    if as_utc is not None and as_utc.iso != (parse_date(raw, DEFAULT_TIMEZONE) or as_utc).iso:
        return as_utc.iso
    return iso
