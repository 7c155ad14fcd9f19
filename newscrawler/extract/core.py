"""extract(): bytes + URL (+ profile) → Article. Layers, most specific first, each filling what the one
before left empty: profile selectors → structured metadata → label rules → the main-content finder."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING

from lxml import etree

from newscrawler.extract import labels
from newscrawler.extract.anchors import find_anchor, find_headline, is_entry_header
from newscrawler.extract.article import Article, ExtractionError
from newscrawler.extract.byline import pick_authors, scan_labels
from newscrawler.extract.charset import decode, xml_safe
from newscrawler.extract.content import Found, blocks, body_lines, clean, find_main
from newscrawler.extract.dates import DEFAULT_TIMEZONE, modified, parse_date, published, read_as_utc
from newscrawler.extract.metadata import read_meta
from newscrawler.extract.page import absolute, breadcrumbs, images, is_article, language, next_page
from newscrawler.extract.script import detect_script
from newscrawler.extract.selectors import apply_selectors

if TYPE_CHECKING:
    from newscrawler.profiles import PortalProfile

_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>")


def extract(body: bytes, url: str, *, headers: Mapping[str, str] | None = None,
            profile: PortalProfile | None = None) -> Article:
    """Turn one fetched page into an Article (``isArticle`` False for pages holding none).

    Raises ExtractionError (CharsetError for undecodable bytes), its message naming the URL, and nothing
    else whatever the bytes: a page that trips a rule is one error for the caller to count, not a crash."""
    try:
        return _extract(body, url, headers, profile)
    except ExtractionError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other failure is reported as this page's
        raise ExtractionError(f"{url}: extraction failed ({type(exc).__name__}: {exc})") from exc


def _extract(body: bytes, url: str, headers: Mapping[str, str] | None, profile: PortalProfile | None) -> Article:
    tz = profile.timezone if profile is not None else DEFAULT_TIMEZONE
    if isinstance(body, str):  # already decoded by the caller
        text, encoding = xml_safe(body), None
    else:
        text, encoding = decode(body, url, headers=headers, hint=profile.charset if profile is not None else None)
    try:
        # Plain lxml elements: lxml.html's element-class lookup cost a fifth of the extraction time.
        doc = etree.fromstring(_XML_DECL.sub("", text, count=1), _PARSER) if text and not text.isspace() else None
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise ExtractionError(f"{url}: cannot parse the page as HTML ({exc})") from None
    art = Article(url=url, encoding=encoding)
    if doc is None:
        art.isArticle = False
        return art
    meta = read_meta(doc)
    clean(doc)
    body_el = apply_selectors(doc, profile, art, url) if profile is not None and profile.selectors else None

    all_blocks, sub = blocks(doc, body_el)
    if body_el is not None and sub is None:
        sub = blocks(body_el)[0]
    headline, hidx = find_headline(doc, meta, all_blocks)
    art.headline = art.headline or headline

    anchor = -1
    sub = sub or []
    if sum(len(b.text) for b in sub) >= 20:
        found = Found(body_el, sub, sum(b.link for b in sub) / max(1, sum(len(b.text) for b in sub)))
    else:  # no body selector, or the portal changed its layout and it matches nothing useful
        anchor = find_anchor(all_blocks, hidx)
        found = find_main(all_blocks, anchor, is_entry_header, labels.is_byline)
    lines = body_lines(found, art.headline)
    # Byline lines inside the container are metadata, not body.
    lines = [b for b in lines if not labels.is_byline(b.text)]
    art.articleBody = "\n".join(b.text for b in lines)
    if not art.articleBody and meta.ld_body:
        art.articleBody = meta.ld_body.strip()

    # Labels fill what selectors left empty; structured metadata beats labels for dates with offsets.
    lab = scan_labels(all_blocks, hidx, tz)
    anchor_date = parse_date(all_blocks[anchor].text, tz) if anchor >= 0 else None
    if not art.datePublished:
        pd = published(meta.datePublished, lab, anchor_date, lines, url, tz)
        if pd:
            art.datePublished, art.datePublishedRaw = pd.iso, pd.raw
    if not art.dateModified:
        md = modified(meta.dateModified, lab, tz)
        if md:
            art.dateModified, art.dateModifiedRaw = md.iso, md.raw
    if not art.source:
        art.source = lab.get("source") or meta.source
    if not art.authors:
        art.authors = pick_authors(lab, lines, meta, art.source, art.headline)
    if not art.editor:
        art.editor = lab.get("editor") or meta.editor
    if not art.breadcrumbs:
        art.breadcrumbs = breadcrumbs(all_blocks)
    if found.container is not None and lines:
        # What etree.tostring() gives for <div><p>line</p>…</div>, written directly (the text is
        # xml_safe and its whitespace collapsed, so escaping &, < and > is all serialising does).
        art.articleBodyHtml = "<div>" + "".join(f"<p>{escape(b.text, quote=False)}</p>" for b in lines) + "</div>"
    if not art.images:
        art.images = images(found.container, url)
    art.mainImage = absolute(url, meta.image) or (art.images[0].url if art.images else None)
    art.description = meta.description
    art.keywords = meta.keywords
    art.canonicalUrl = absolute(url, meta.canonical)
    art.inLanguage = language(meta, art.articleBody, profile)
    if art.inLanguage in (None, "zh"):
        art.script = detect_script(f"{art.headline or ''}\n{art.articleBody}")
    elif profile is None:
        art.datePublished = read_as_utc(art.datePublishedRaw, art.datePublished)
        art.dateModified = read_as_utc(art.dateModifiedRaw, art.dateModified)
    art.isArticle = is_article(art.articleBody, found.link_density, all_blocks, meta,
                                bool(lab.get("pub") or lab.get("mod") or lab.get("bare") or meta.datePublished))
    if art.isArticle and not art.nextPage:
        art.nextPage = next_page(doc, url)
    elif not art.isArticle:
        art.nextPage = None
    return art


def merge_pages(pages: list[Article]) -> Article:
    """One article from its pages: the first page's metadata, the bodies concatenated in order."""
    if not pages:
        raise ValueError("merge_pages needs at least one page")
    first = pages[0]
    merged = dataclasses.replace(first, images=list(first.images), authors=list(first.authors))
    seen = {i.url for i in merged.images}
    bodies = [first.articleBody] if first.articleBody else []
    htmls = [first.articleBodyHtml] if first.articleBodyHtml else []
    for p in pages[1:]:
        if p.articleBody in bodies:  # a continuation URL that served the first page again
            continue
        if p.articleBody:
            bodies.append(p.articleBody)
        if p.articleBodyHtml:
            htmls.append(p.articleBodyHtml)
        for img in p.images:
            if img.url not in seen:
                seen.add(img.url)
                merged.images.append(img)
        for f in ("headline", "datePublished", "datePublishedRaw", "source", "editor"):
            if not getattr(merged, f) and getattr(p, f):
                setattr(merged, f, getattr(p, f))
        if not merged.authors and p.authors:
            merged.authors = list(p.authors)
    merged.articleBody = "\n".join(bodies)
    merged.articleBodyHtml = "".join(htmls) or None
    merged.nextPage = None
    merged.isArticle = any(p.isArticle for p in pages)
    return merged
