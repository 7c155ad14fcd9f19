"""The byline read off the page: label values around the headline (dates among them, chosen in
dates.py) and reporters credited in the body."""

from __future__ import annotations

import re

from newscrawler.extract import labels
from newscrawler.extract.content import Block
from newscrawler.extract.dates import parse_date
from newscrawler.extract.metadata import Meta

_ENDS_WITH_COLON = re.compile(r"[:：︰]\s*$")
# The byline sits under the headline, sometimes just above it. Nearest first (a line above after the one
# below at the same distance): a comment's date further down must not beat the byline just above.
_NEAR = sorted(range(-3, 25), key=lambda off: abs(off) + (0.5 if off < 0 else 0))


def scan_labels(all_blocks: list[Block], start: int, tz: str | None) -> dict:
    """Label values near the headline/byline first (they sit right around it), else anywhere.

    Keys ending in "_far" come from the rest of the page and rank below in-body credits."""
    found: dict = {}
    begin = max(start, 0)
    n = len(all_blocks)
    near = [i for off in _NEAR if 0 <= (i := begin + off) < n]
    rest = [*range(begin - 3), *range(begin + 25, n)]
    for group, suffix in ((near, ""), (rest, "_far")):
        for i in group:
            t = all_blocks[i].text
            if len(t) > 300 or (suffix and not labels.may_hold_label(t)):
                continue  # far from the headline only lines with a label, a date or a credit matter
            # A label alone in its cell, with the value in the next one.
            if len(t) <= 8 and _ENDS_WITH_COLON.search(t) and i + 1 < len(all_blocks):
                t = t + " " + all_blocks[i + 1].text[:80]
            field = labels.HOLDS_FIELD_WORD.search(t) is not None  # else only a bare name or date can be here
            if field and "pub" not in found and "pub_far" not in found:
                p = labels.pubdate_in(t, tz)
                if p:
                    found["pub" + suffix] = p
            if field and "mod" not in found and "mod_far" not in found:
                p = labels.moddate_in(t, tz)
                if p:
                    found["mod" + suffix] = p
            if field and "source" not in found:
                v = labels.source_in(t)
                if v:
                    found["source"] = v
            if "authors" not in found and "authors_far" not in found and ("authors_long" not in found or not suffix
                                                                          or len(t) <= 100):
                a = labels.authors_in(t) if field else []
                if not a and not suffix and 0 < i - begin <= 3 and start >= 0 and not all_blocks[i].link:
                    a = labels.bare_names(t)  # a name alone under the headline
                if a:
                    # A credit inside a long paragraph is the quoted story's, not this page's byline.
                    found["authors" + ("_long" if len(t) > 100 else suffix)] = a
            if field and "editor" not in found:
                e = labels.editor_in(t)
                if e:
                    found["editor"] = e
            if field and not suffix and "authors" not in found and len(t) <= 30:
                m = labels.SLASH_BYLINE.match(t)
                if m:
                    found["authors"] = labels.split_names(m.group("a"))
                    found.setdefault("source", m.group("s"))
            if "bare" not in found and not suffix and len(t) < 120:
                p = parse_date(t, tz)
                if p:
                    found["bare"] = p
    return found


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


def pick_authors(lab: dict, lines: list[Block], meta: Meta, source: str | None, headline: str | None) -> list[str]:
    """Authors, most trusted first: a byline near the headline, a short labelled line elsewhere, a credit
    inside the body, a credit inside a long paragraph, the author metadata."""
    return lab.get("authors") or lab.get("authors_far") or body_credit(lines) or lab.get("authors_long") or [
        a for a in meta.authors
        # CMSs fill the author meta with user ids or the outlet's name.
        if not a.isdigit() and len(a) <= 40 and not re.search(r"[@/]", a)
        and a not in (source, meta.site_name, meta.source)
        and a not in (meta.title or "").replace(headline or "\0", "")]
