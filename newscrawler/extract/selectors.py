"""Portal profile selectors: XPath when the string starts with '/' or '(', CSS otherwise."""

from __future__ import annotations

from functools import lru_cache

from lxml import etree
from lxml.cssselect import CSSSelector


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
