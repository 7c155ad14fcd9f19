"""Size limits of an article document: one oversized page (a 7 MB article, 20 MB as a document) must not
fail every night on MongoDB's 16 MB document limit.

Text fields are cut (the body at a paragraph break, HTML after a tag), lists are shortened, and the names
of the fields cut are added to the article's `truncated` field. The limits keep a document under about
7 MB whatever the page (characters take up to 4 bytes in UTF-8); a last check on the encoded size drops
the HTML, then cuts the body further, should a document still exceed MAX_DOCUMENT_BYTES.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import bson

from newscrawler.schema import STORED

# Characters: an article's text is rarely over 20,000; these keep whole what any real article has.
TEXT_LIMITS = {"articleBody": 400_000, "articleBodySimplified": 400_000, "articleBodyHtml": 800_000,
               "headlineSimplified": 5_000}
# Any other text field (headline, description, editor, source, raw dates, URLs of images…).
OTHER_TEXT_LIMIT = 5_000
LIST_LIMIT = 200
IMAGE_CAPTION_LIMIT = 2_000
# Under MongoDB's 16 MB (16,777,216 bytes) with room for what the store adds (versions, urls).
MAX_DOCUMENT_BYTES = 12 * 2**20
# Keys and identities are never cut.
UNCUT = frozenset({"url", "canonicalUrl", "site", "bodyHash", "cluster", "duplicateOf", "dedup", "script",
                   "inLanguage", "truncated"})


def _cut_text(name: str, text: str, limit: int) -> str:
    cut = text[:limit]
    if name in ("articleBody", "articleBodySimplified"):
        cut = cut[:cut.rfind("\n")] if "\n" in cut[limit // 2:] else cut
    elif name == "articleBodyHtml":
        cut = cut[:cut.rfind(">") + 1] if ">" in cut[limit // 2:] else cut
    return cut


def bound(article: MutableMapping[str, Any]) -> list[str]:
    """Cut the article's oversized fields in place; returns the names cut this time (also added to
    `truncated`). Works on a dict, an Article through ItemAdapter, or a stored document."""
    cut: list[str] = []
    for name in list(article.keys()):
        if name in UNCUT or name not in STORED:
            continue
        value = article[name]
        if isinstance(value, str):
            limit = TEXT_LIMITS.get(name, OTHER_TEXT_LIMIT)
            if len(value) > limit:
                article[name] = _cut_text(name, value, limit)
                cut.append(name)
        elif isinstance(value, list):
            shorter = value[:LIST_LIMIT]
            shorter = [_bound_entry(v) for v in shorter]
            if len(value) > LIST_LIMIT or shorter != value[:LIST_LIMIT]:
                article[name] = shorter
                cut.append(name)
    if _rough_size(article) > MAX_DOCUMENT_BYTES and _size(article) > MAX_DOCUMENT_BYTES:
        for name in ("articleBodyHtml", "articleBodySimplified", "headlineSimplified"):
            if article.get(name):
                article[name] = None
                cut.append(name)
        while _size(article) > MAX_DOCUMENT_BYTES and len(article.get("articleBody") or "") > 1000:
            article["articleBody"] = _cut_text("articleBody", article["articleBody"], len(article["articleBody"]) // 2)
            cut.append("articleBody")
    if cut:
        article["truncated"] = sorted(set(article.get("truncated") or ()) | set(cut))
    return sorted(set(cut))


def _bound_entry(value: Any) -> Any:
    if isinstance(value, str) and len(value) > OTHER_TEXT_LIMIT:
        return value[:OTHER_TEXT_LIMIT]
    if isinstance(value, dict):
        return {k: (v[:IMAGE_CAPTION_LIMIT if k == "caption" else OTHER_TEXT_LIMIT] if isinstance(v, str) else v)
                for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):  # an Image
        caption, url = getattr(value, "caption", None), getattr(value, "url", None)
        if (caption and len(caption) > IMAGE_CAPTION_LIMIT) or (url and len(url) > OTHER_TEXT_LIMIT):
            return type(value)(url=(url or "")[:OTHER_TEXT_LIMIT], caption=caption and caption[:IMAGE_CAPTION_LIMIT])
    return value


def _rough_size(article: MutableMapping[str, Any]) -> int:
    """An upper bound of the text's bytes (4 per character), plus room for everything else: cheap enough for
    every article, so the exact size is only computed for the big ones."""
    return 4 * sum(len(v) for v in dict(article).values() if isinstance(v, str)) + 65_536


def _size(article: MutableMapping[str, Any]) -> int:
    """Bytes of the article as BSON (text fields only estimated when the rest cannot be encoded)."""
    try:
        return len(bson.encode({k: v for k, v in dict(article).items() if not hasattr(v, "__dataclass_fields__")
                                and not (isinstance(v, list) and v and hasattr(v[0], "__dataclass_fields__"))}))
    except (bson.errors.InvalidDocument, TypeError, OverflowError):
        return sum(len(v.encode("utf-8", "replace")) for v in dict(article).values() if isinstance(v, str))
