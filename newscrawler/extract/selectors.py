"""Portal profile selectors: XPath when the string starts with '/' or '(', CSS otherwise."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from lxml import etree
from lxml.cssselect import CSSSelector

from newscrawler.extract import labels
from newscrawler.extract.article import Article, Image
from newscrawler.extract.content import clean_text
from newscrawler.extract.dates import parse_date
from newscrawler.extract.page import absolute

if TYPE_CHECKING:
    from newscrawler.profiles import PortalProfile


@lru_cache(maxsize=256)
def _compile(selector: str) -> etree.XPath:
    s = selector.strip()
    if s.startswith(("/", "(")):
        return etree.XPath(s)
    return CSSSelector(s)


def select(doc: etree._Element, selector: str) -> list:
    """Elements (or strings, for XPath text()/@attr selectors) matched by a profile selector."""
    try:
        result = _compile(selector)(doc)
    except Exception:  # a broken selector must not lose the page
        return []
    if isinstance(result, list):
        return result
    return [result] if result else []


def apply_selectors(doc: etree._Element, profile: PortalProfile, art: Article,
                     url: str) -> etree._Element | None:
    sel = profile.selectors
    body_el = None
    for field, selector in sel.items():
        found = select(doc, selector)
        if not found:
            continue
        if field == "articleBody":
            body_el = found[0] if isinstance(found[0], etree._Element) else None
        elif field in ("headline", "source", "editor"):
            v = clean_text(found[0])
            if field == "source":
                v = labels.strip_source_label(v)
            if field == "editor":
                v = labels.editor_in(v) or v
            setattr(art, field, v or None)
        elif field in ("datePublished", "dateModified"):
            p = parse_date(clean_text(found[0]), profile.timezone)
            if p:
                setattr(art, field, p.iso)
                setattr(art, field + "Raw", p.raw)
        elif field == "authors":
            names: list[str] = []
            for f in found:
                names.extend(labels.authors_in(clean_text(f)) or labels.split_names(clean_text(f)))
            art.authors = names
        elif field == "breadcrumbs":
            art.breadcrumbs = [t for t in (clean_text(f) for f in found) if t]
        elif field == "nextPage":
            f = found[0]
            art.nextPage = absolute(url, f if isinstance(f, str) else f.get("href"))
        elif field == "images":
            art.images = [Image(u) for u in (absolute(url, f if isinstance(f, str) else f.get("src"))
                                             for f in found) if u]
    return body_el
