"""Portal profile selectors: XPath when the string starts with '/' or '(', CSS otherwise.

Which fields a profile may select, and how a match becomes a value, comes from the article schema
(`newscrawler.schema`, each field's `select` kind); this module only knows the kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from lxml import etree
from lxml.cssselect import CSSSelector

from newscrawler import schema
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


def _text(found: list) -> str | None:
    return clean_text(found[0]) or None


def _href(found: list, url: str, attr: str) -> str | None:
    f = found[0]
    return absolute(url, f if isinstance(f, str) else f.get(attr))


def _names(found: list) -> list[str]:
    names: list[str] = []
    for f in found:
        text = clean_text(f)
        names.extend(labels.authors_in(text) or labels.split_names(text))
    return names


# kind → (matches, page URL, portal time zone) → value; None means "no value" (the next layer fills it).
_READERS: dict[str, Callable[[list, str, str], Any]] = {
    "text": lambda found, url, tz: _text(found),
    "source": lambda found, url, tz: labels.strip_source_label(clean_text(found[0])) or None,
    "editor": lambda found, url, tz: (lambda v: labels.editor_in(v) or v or None)(clean_text(found[0])),
    "date": lambda found, url, tz: parse_date(clean_text(found[0]), tz),
    "names": lambda found, url, tz: _names(found),
    "list": lambda found, url, tz: [t for t in (clean_text(f) for f in found) if t],
    "url": lambda found, url, tz: _href(found, url, "href"),
    "images": lambda found, url, tz: [Image(u) for u in (absolute(url, f if isinstance(f, str) else f.get("src"))
                                                         for f in found) if u],
}


def apply_selectors(doc: etree._Element, profile: PortalProfile, art: Article,
                    url: str) -> etree._Element | None:
    """Fill the article's fields from the profile's selectors; return the body container, if selected."""
    kinds = schema.selectable()
    body_el = None
    for name, selector in profile.selectors.items():
        found = select(doc, selector)
        if not found:
            continue
        art.selectorsMatched.append(name)
        kind = kinds[name]
        if kind == "container":
            body_el = found[0] if isinstance(found[0], etree._Element) else None
            continue
        value = _READERS[kind](found, url, profile.timezone)
        if kind == "date":
            if value:
                setattr(art, name, value.iso)
                setattr(art, name + "Raw", value.raw)
        elif value or kind in ("text", "source", "editor"):
            setattr(art, name, value or None)
    return body_el
