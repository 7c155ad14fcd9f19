"""Page-level facts: breadcrumbs, the next page of a multi-page article, images, language, and
whether the page holds an article at all."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from lxml import etree

from newscrawler.extract.article import Image
from newscrawler.extract.content import HAN_ROWS, Block, clean_text, count_in_rows, text_len, text_of
from newscrawler.extract.metadata import Meta

if TYPE_CHECKING:
    from newscrawler.profiles import PortalProfile

_CRUMB_LABEL = re.compile(r"(?:当前位置|當前位置|您现在的位置|您現在的位置|现在的位置|現在的位置|"
                          r"您的位置|你的位置|"
                          r"所在位置|当前位置是|位置)\s*[:：]?\s*")
_CRUMB_SEP = re.compile(r"\s*(?:>>|>|»|›|→|->|＞|/)\s*")
_SENTENCE_PUNCT = re.compile(r"[，。；！？,.;!?]")
_NEXT_TEXT = re.compile(r"^\s*(?:下一页|下一頁|下页|下頁|Next(?: page)?|next ›|›|»)\s*$", re.I)
# The page part of a continuation URL: a_01.shtml, index_2.html, t2024_123_2.html, ?page=2.
# One or two digits: longer numbers are article ids (t20240101_123.html is not page 123 of anything).
_PAGE_SUFFIX = re.compile(r"[_-]\d{1,2}(?=\.\w+$)|[?&](?:page|p|pn)=\d+")


def absolute(base: str, href: str | None) -> str | None:
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("javascript:", "data:", "#", "mailto:")):
        return None
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def breadcrumbs(all_blocks: list[Block]) -> list[str]:
    for b in all_blocks[:200]:
        m = _CRUMB_LABEL.search(b.text)
        if m and len(b.text) < 200 and _CRUMB_SEP.search(b.text[m.end():]):
            parts = [p.strip() for p in _CRUMB_SEP.split(b.text[m.end():]) if p.strip()]
            if parts and parts[-1] in ("正文", "内容", "內容", "详细", "詳細", "阅读文章"):
                parts = parts[:-1]
            return parts[:8]
    return []


def next_page(doc: etree._Element, url: str) -> str | None:
    """The continuation of this article: a "下一页" link whose URL is this URL with a page suffix."""
    here = urlsplit(url)
    full = here.path + ("?" + here.query if here.query else "")
    stem = _PAGE_SUFFIX.sub("", full)
    for a in doc.iter("a"):
        # Most links hold their text directly: reading it costs a third of text_of()'s XPath call.
        text = a.text if len(a) == 0 else text_of(a)
        if not text or not _NEXT_TEXT.match(text):
            continue
        target = absolute(url, a.get("href"))
        if not target or target.split("#")[0] == url:
            continue
        t = urlsplit(target)
        if t.netloc != here.netloc:
            continue
        tpath = t.path + ("?" + t.query if t.query else "")
        # Page 1 → 2: the target minus its page part is this URL; page 2 → 3: both share the stem.
        if tpath != full and _PAGE_SUFFIX.sub("", tpath) in (full, stem, stem.rsplit("/", 1)[0] + "/index.html"):
            return target
    return None


# alt/title texts that describe the widget, not the picture.
_UI_ALT = re.compile(r"^(?:点击|點擊|查看|放大|原图|原圖|图片|圖片|image|photo|picture|img|\d+)", re.I)
_CAPTION_HOLDERS = frozenset({"p", "div", "span", "center", "font", "td"})


def _caption(img: etree._Element, container: etree._Element) -> str | None:
    """figcaption; else the short line the image sits in or the one right under it (Chinese CMSs centre
    the caption in the next <p>); else a descriptive alt/title."""
    el = img.getparent()
    while el is not None and el is not container:
        if el.tag == "figure":
            fc = el.find(".//figcaption")
            if fc is not None and clean_text(fc):
                return clean_text(fc)
            break
        el = el.getparent()
    holder = img.getparent()
    if holder is not None and holder is not container and holder.tag in _CAPTION_HOLDERS:
        own = clean_text(holder)
        if 0 < len(own) <= 100:
            return own
        nxt = holder.getnext()
        if not own and nxt is not None and nxt.tag in _CAPTION_HOLDERS and nxt.find(".//img") is None:
            text = clean_text(nxt)
            if 0 < len(text) <= 80:
                return text
    alt = (img.get("alt") or img.get("title") or "").strip()
    return alt if alt and not _UI_ALT.match(alt) else None


def images(container: etree._Element | None, url: str) -> list[Image]:
    """Images of the article body, absolute URLs (lazy-loading attributes first), with captions."""
    if container is None:
        return []
    out: list[Image] = []
    seen = set()
    for img in container.iter("img"):
        src = absolute(url, img.get("data-src") or img.get("data-original") or img.get("src"))
        if not src or src in seen or re.search(r"\.gif$|logo|icon|blank|spacer|pixel", src, re.I):
            continue
        seen.add(src)
        out.append(Image(src, _caption(img, container)))
    return out


_LANG_CODE = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{2,8})*$")
# Counted as what is left after removing everything else: half the time of counting findall()'s matches.
_NOT_KANA = re.compile(r"[^\u3040-\u30ff]+")


def language(meta: Meta, body: str, profile: PortalProfile | None) -> str | None:
    """Chinese text says so itself; else the page's declared language (when it is a language code —
    pages write charsets there too), else the profile's, else English for plain-ASCII text."""
    sample = body[:2000]
    if sample and count_in_rows(sample, HAN_ROWS) > len(sample) * 0.2:
        return "ja" if len(_NOT_KANA.sub("", sample)) > len(sample) * 0.05 else "zh"
    m = _LANG_CODE.match((meta.lang or "").split(",")[0].strip().lower())
    if m and m.group(1) not in ("utf", "gbk", "big", "iso"):
        return m.group(1)
    if profile is not None:
        return profile.language
    return "en" if sample and sample.isascii() else None


def is_article(body: str, found_ld: float, all_blocks: list[Block], meta: Meta, has_date: bool) -> bool:
    """List and home pages: lots of links, little running text, no byline."""
    if meta.og_type and meta.og_type.lower() in ("article", "news", "news.article"):
        return len(body) > 0
    if meta.ld_type and meta.ld_type != "webpage":
        return len(body) > 0
    n = text_len(body)
    if n < 120:
        return False
    # An article has running text: at least one sentence-like paragraph. Column pages hold titles,
    # dates and menus.
    if not any(text_len(p) >= 40 and len(_SENTENCE_PUNCT.findall(p)) >= 2 for p in body.split("\n")):
        return False
    total = sum(len(b.text) for b in all_blocks) or 1
    linked = sum(b.link for b in all_blocks)
    page_ld = linked / total
    if found_ld > 0.5:
        return False
    if page_ld > 0.65 and n < 1200 and not has_date:
        return False
    if n < 300 and not has_date:
        return False
    return True
