"""Where the article is on the page: its headline (matched against <title> and og:title) and the
anchor line the body follows (the headline, else the first byline-like line)."""

from __future__ import annotations

import re

from lxml import etree

from newscrawler.extract import labels
from newscrawler.extract.content import Block, clean_text
from newscrawler.extract.dates import parse_date
from newscrawler.extract.metadata import Meta

_WS = re.compile(r"\s+")
_TITLE_SPLIT = re.compile(r"\s*(?:[|｜_]|--|—|–| - |-{1,2}(?=[^-]*$))\s*")
# Headline comparison ignores spacing and punctuation ("Ama..." in <title>, "Ama…" on the page).
_KEY = re.compile(r"[\W_]+")
_FIRST_KEY_CHAR = re.compile(r"[^\W_]")


def is_heading(el: etree._Element) -> bool:
    cls = ((el.get("class") or "") + " " + (el.get("id") or "")).lower()
    return el.tag in ("h1", "h2", "h3") or "title" in cls or "headline" in cls


def find_headline(doc: etree._Element, meta: Meta, all_blocks: list[Block]) -> tuple[str | None, int]:
    """The headline and the index of the block it sits in (-1 if none).

    The page's own heading is the line that <title> (which sites pad with their name and section)
    or og:title contains; headings beat other lines, longer matches beat shorter ones. Else og:title,
    else the first h1/h2 when there is no <title>, else <title> with the site suffix cut off."""
    title = _WS.sub(" ", meta.title or "").strip()
    title_key = _KEY.sub("", title)
    og = _WS.sub(" ", meta.headline or "").strip()
    og_key = _KEY.sub("", og)
    parts = [p for p in _TITLE_SPLIT.split(title) if p]
    longest = max((len(_KEY.sub("", p)) for p in parts), default=0)
    best, best_idx, best_score = None, -1, 0.0
    for b in all_blocks if title_key or og_key else ():
        n = len(b.text)
        if not 4 <= n <= 150:
            continue
        # Whether the block is a heading is looked up only for the few lines that match (or are links).
        heading = is_heading(b.el) if b.link > n / 2 else None
        if heading is False:
            continue
        # The line's key must start with a character of the title or og:title: checked before the key is
        # built (most lines fail here).
        first = _FIRST_KEY_CHAR.search(b.text)
        if first is None or first.group() not in title_key and first.group() not in og_key:
            continue
        k = _KEY.sub("", b.text)
        if og_key and k == og_key:
            heading = is_heading(b.el) if heading is None else heading
            score = 1000.0 + heading * 20
        elif title_key and len(k) >= 4 and k in title_key:
            heading = is_heading(b.el) if heading is None else heading
            if not (heading or len(k) >= 0.4 * longest):
                continue
            score = len(k) + heading * 20
        else:
            continue
        if score > best_score:
            best, best_idx, best_score = b.text, b.idx, score
    if best is not None:
        return best, best_idx
    h_first = [clean_text(h) for tag in ("h1", "h2") for h in doc.iter(tag)]
    h_first = [t for t in h_first if 4 <= len(t) <= 150]
    if og:
        best = og
    elif h_first and not title:
        best = h_first[0]
    elif title:
        best = max(parts[:2], key=len) if parts else title
    if best is None:
        return None, -1
    key = _WS.sub("", best)
    for b in all_blocks:
        if len(b.text) < len(best) + 30 and key in _WS.sub("", b.text):
            return best, b.idx
    return best, -1


def is_entry_header(text: str) -> bool:
    """A line heading a post: a labelled date/byline, or (blogs, forums) nothing but a date and time."""
    if labels.PUB_RE.search(text) and labels.pubdate_in(text, None):
        return True
    if len(text) > 40:
        return False
    p = parse_date(text)
    return bool(p and p.precision in ("minute", "second") and len(p.raw) >= len(text) * 0.6)


def find_anchor(all_blocks: list[Block], hidx: int) -> int:
    """Where the article starts: the headline block if it is a heading, else the first byline-like
    line (a labelled date or author) near the top of the page."""
    if hidx >= 0:
        return hidx
    for b in all_blocks:
        if len(b.text) < 80 and b.link < len(b.text) / 2 and (
                is_entry_header(b.text) or labels.AUTHOR_RE.search(b.text) and labels.authors_in(b.text)):
            return b.idx
    return -1
