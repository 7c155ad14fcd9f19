"""The byline read off the page: label values around the headline, reporters credited in the body,
and dates reconciled between metadata and what the page shows."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from newscrawler.extract import labels
from newscrawler.extract.content import Block
from newscrawler.extract.dates import ParsedDate, date_from_url, parse_date, parse_month
from newscrawler.extract.metadata import Meta


def scan_labels(all_blocks: list[Block], start: int, tz: str | None) -> dict:
    """Label values near the headline/byline first (they sit right around it), else anywhere.

    Keys ending in "_far" come from the rest of the page and rank below in-body credits."""
    found: dict = {}
    begin = max(start, 0)
    # The byline sits under the headline, sometimes just above it.
    # Nearest first: a comment's date further down must not beat the byline just above the headline.
    after = list(range(begin, min(len(all_blocks), begin + 25)))
    before = list(range(begin - 1, max(begin - 4, -1), -1))
    near = sorted(after + before, key=lambda i: abs(i - begin) + (0.5 if i < begin else 0))
    rest = [i for i in range(len(all_blocks)) if i < begin - 3 or i >= begin + 25]
    for group, suffix in ((near, ""), (rest, "_far")):
        for i in group:
            t = all_blocks[i].text
            if len(t) > 300 or (suffix and not labels.MAY_HOLD_LABEL.search(t)):
                continue  # far from the headline only lines with a label, a date or a credit matter
            # A label alone in its cell, with the value in the next one.
            if len(t) <= 8 and re.search(r"[:：︰]\s*$", t) and i + 1 < len(all_blocks):
                t = t + " " + all_blocks[i + 1].text[:80]
            if "pub" not in found and "pub_far" not in found:
                p = labels.pubdate_in(t, tz)
                if p:
                    found["pub" + suffix] = p
            if "mod" not in found and "mod_far" not in found:
                p = labels.moddate_in(t, tz)
                if p:
                    found["mod" + suffix] = p
            if "source" not in found:
                v = labels.source_in(t)
                if v:
                    found["source"] = v
            if "authors" not in found and "authors_far" not in found and ("authors_long" not in found or not suffix
                                                                          or len(t) <= 100):
                a = labels.authors_in(t)
                if not a and not suffix and 0 < i - begin <= 3 and start >= 0 and not all_blocks[i].link:
                    a = labels.bare_names(t)  # a name alone under the headline
                if a:
                    # A credit inside a long paragraph is the quoted story's, not this page's byline.
                    found["authors" + ("_long" if len(t) > 100 else suffix)] = a
            if "editor" not in found:
                e = labels.editor_in(t)
                if e:
                    found["editor"] = e
            if not suffix and "authors" not in found and len(t) <= 30:
                m = labels.SLASH_BYLINE.match(t)
                if m:
                    found["authors"] = labels.split_names(m.group("a"))
                    found.setdefault("source", m.group("s"))
            if "bare" not in found and not suffix and len(t) < 120:
                p = parse_date(t, tz)
                if p:
                    found["bare"] = p
    return found


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


def citation_month(lines: list[Block], tz: str | None) -> ParsedDate | None:
    """A reprint's closing citation, "——《北京之春》1998年3月号": the month it was published."""
    for b in lines[-3:]:
        m = re.search(r"《[^》]{1,30}》\s*((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月)", b.text[-40:])
        if m:
            return parse_month(m.group(1), tz)
    return None


def body_credit(lines: list[Block]) -> list[str]:
    """Reporters credited inside the body: "（记者 X）" near the start, "（X Y）" closing it."""
    if not lines:
        return []
    head = lines[0].text[:80]
    names = labels.authors_in(head) if ("记者" in head or "記者" in head) else []
    for b in lines[:3]:  # title, author, subtitle: the layout of reprinted essays
        if not b.link:
            names = names or labels.bare_names(b.text)
    for b in reversed(lines[-2:]):
        names = names or labels.closing_credit(b.text)
    return names


def published(meta_date: str | None, lab: dict, anchor_date: ParsedDate | None, lines: list[Block], url: str,
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


def pick_authors(lab: dict, lines: list[Block], meta: Meta, source: str | None, headline: str | None) -> list[str]:
    """Authors, most trusted first: a byline near the headline, a short labelled line elsewhere, a credit
    inside the body, a credit inside a long paragraph, the author metadata."""
    return lab.get("authors") or lab.get("authors_far") or body_credit(lines) or lab.get("authors_long") or [
        a for a in meta.authors
        # CMSs fill the author meta with user ids or the outlet's name.
        if not a.isdigit() and len(a) <= 40 and not re.search(r"[@/]", a)
        and a not in (source, meta.site_name, meta.source)
        and a not in (meta.title or "").replace(headline or "\0", "")]
