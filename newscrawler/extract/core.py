"""extract(): bytes + URL (+ profile) → Article. Layers, most specific first, each filling what the one
before left empty: profile selectors → structured metadata → label rules → the main-content finder."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from lxml import etree

from newscrawler.extract import labels
from newscrawler.extract.article import Article, ExtractionError, Image
from newscrawler.extract.charset import decode
from newscrawler.extract.content import Block, blocks, body_lines, clean, find_main, text_len, text_of
from newscrawler.extract.dates import ParsedDate, date_from_url, parse_date, parse_month
from newscrawler.extract.metadata import Meta, read_meta
from newscrawler.extract.script import detect_script
from newscrawler.extract.selectors import select

if TYPE_CHECKING:
    from newscrawler.profiles import PortalProfile

_WS = re.compile(r"\s+")
_TITLE_SPLIT = re.compile(r"\s*(?:[|｜_]|--|—|–| - |-{1,2}(?=[^-]*$))\s*")
_CRUMB_LABEL = re.compile(r"(?:当前位置|當前位置|您现在的位置|您現在的位置|现在的位置|現在的位置|"
                          r"您的位置|你的位置|"
                          r"所在位置|当前位置是|位置)\s*[:：]?\s*")
_CRUMB_SEP = re.compile(r"\s*(?:>>|>|»|›|→|->|＞|/)\s*")
_SENTENCE_PUNCT = re.compile(r"[，。；！？,.;!?]")
_NEXT_TEXT = re.compile(r"^\s*(?:下一页|下一頁|下页|下頁|Next(?: page)?|next ›|›|»)\s*$", re.I)
_PAGE_SUFFIX = re.compile(r"(?:[_-]\d{1,3}|index_\d+|_\d+_\d+)(?=\.\w+$)|[?&](?:page|p|pn)=\d+")


# Headline comparison ignores spacing and punctuation ("Ama..." in <title>, "Ama…" on the page).
_KEY = re.compile(r"[\W_]+")
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, no_network=True, recover=True)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>")
_ASCII_WS = re.compile(r"[ \t\r\n\f\v]+")


def _text(el: object) -> str:
    if isinstance(el, str):
        return _ASCII_WS.sub(" ", el).strip()
    if isinstance(el, etree._Element):
        return _ASCII_WS.sub(" ", text_of(el)).strip()
    return ""


def _abs(base: str, href: str | None) -> str | None:
    if not href:
        return None
    href = href.strip()
    if not href or href.startswith(("javascript:", "data:", "#", "mailto:")):
        return None
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def _to_iso(raw: str | None, tz: str | None) -> ParsedDate | None:
    return parse_date(raw, tz) if raw else None


def _is_heading(el: etree._Element) -> bool:
    cls = ((el.get("class") or "") + " " + (el.get("id") or "")).lower()
    return el.tag in ("h1", "h2", "h3") or "title" in cls or "headline" in cls


def _headline(doc: etree._Element, meta: Meta, all_blocks: list[Block]) -> tuple[str | None, int]:
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
    for b in all_blocks:
        n = len(b.text)
        if not 4 <= n <= 150:
            continue
        heading = _is_heading(b.el)
        if b.link > n / 2 and not heading:
            continue
        k = _KEY.sub("", b.text)
        if og_key and k == og_key:
            score = 1000.0 + heading * 20
        elif title_key and len(k) >= 4 and k in title_key and (heading or len(k) >= 0.4 * longest):
            score = len(k) + heading * 20
        else:
            continue
        if score > best_score:
            best, best_idx, best_score = b.text, b.idx, score
    if best is not None:
        return best, best_idx
    h_first = [_text(h) for tag in ("h1", "h2") for h in doc.iter(tag)]
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


def _is_entry_header(text: str) -> bool:
    """A line heading a post: a labelled date/byline, or (blogs, forums) nothing but a date and time."""
    if labels.PUB_RE.search(text) and labels.pubdate_in(text, None):
        return True
    if len(text) > 40:
        return False
    p = parse_date(text)
    return bool(p and p.precision in ("minute", "second") and len(p.raw) >= len(text) * 0.6)


def _anchor(all_blocks: list[Block], hidx: int) -> int:
    """Where the article starts: the headline block if it is a heading, else the first byline-like
    line (a labelled date or author) near the top of the page."""
    if hidx >= 0:
        return hidx
    for b in all_blocks:
        if len(b.text) < 80 and b.link < len(b.text) / 2 and (
                _is_entry_header(b.text) or labels.AUTHOR_RE.search(b.text) and labels.authors_in(b.text)):
            return b.idx
    return -1


def _scan_labels(all_blocks: list[Block], start: int, tz: str | None) -> dict:
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


def _local_offset(meta_date: ParsedDate, shown: ParsedDate | None) -> ParsedDate:
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


def _citation_month(lines: list[Block], tz: str | None) -> ParsedDate | None:
    """A reprint's closing citation, "——《北京之春》1998年3月号": the month it was published."""
    for b in lines[-3:]:
        m = re.search(r"《[^》]{1,30}》\s*((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月)", b.text[-40:])
        if m:
            return parse_month(m.group(1), tz)
    return None


def _body_credit(lines: list[Block]) -> list[str]:
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


def _breadcrumbs(all_blocks: list[Block]) -> list[str]:
    for b in all_blocks[:200]:
        m = _CRUMB_LABEL.search(b.text)
        if m and len(b.text) < 200 and _CRUMB_SEP.search(b.text[m.end():]):
            parts = [p.strip() for p in _CRUMB_SEP.split(b.text[m.end():]) if p.strip()]
            if parts and parts[-1] in ("正文", "内容", "內容", "详细", "詳細", "阅读文章"):
                parts = parts[:-1]
            return parts[:8]
    return []


def _next_page(doc: etree._Element, url: str) -> str | None:
    """The continuation of this article: a "下一页" link whose URL is this URL with a page suffix."""
    here = urlsplit(url)
    stem = _PAGE_SUFFIX.sub("", here.path + ("?" + here.query if here.query else ""))
    for a in doc.iter("a"):
        if not _NEXT_TEXT.match(text_of(a) or ""):
            continue
        target = _abs(url, a.get("href"))
        if not target or target.split("#")[0] == url:
            continue
        t = urlsplit(target)
        if t.netloc != here.netloc:
            continue
        tpath = t.path + ("?" + t.query if t.query else "")
        if tpath != here.path and _PAGE_SUFFIX.sub("", tpath) in (
                stem, stem.rsplit("/", 1)[0] + "/index.html"):
            return target
    return None


def _images(container: etree._Element | None, url: str) -> list[Image]:
    if container is None:
        return []
    out: list[Image] = []
    seen = set()
    for img in container.iter("img"):
        src = _abs(url, img.get("data-src") or img.get("data-original") or img.get("src"))
        if not src or src in seen or re.search(r"\.gif$|logo|icon|blank|spacer|pixel", src, re.I):
            continue
        seen.add(src)
        cap = (img.get("alt") or img.get("title") or "").strip() or None
        fig = img.getparent()
        while fig is not None and fig.tag != "figure" and fig is not container:
            fig = fig.getparent()
        if fig is not None and fig.tag == "figure":
            fc = fig.find(".//figcaption")
            if fc is not None and _text(fc):
                cap = _text(fc)
        out.append(Image(src, cap))
    return out


def _language(meta: Meta, body: str, profile: PortalProfile | None) -> str | None:
    if meta.lang:
        return meta.lang.split(",")[0].strip().split("-")[0].lower() or None
    sample = body[:2000]
    if sample and len(re.findall(r"[\u4e00-\u9fff]", sample)) > len(sample) * 0.2:
        return "zh"
    if profile is not None:
        return profile.language
    return "en" if sample and sample.isascii() else None


def _apply_selectors(doc: etree._Element, profile: PortalProfile, art: Article,
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
            v = _text(found[0])
            if field == "source":
                v = re.sub(r"^.*?(?:来源|來源)\s*[:：]\s*", "", v)
            if field == "editor":
                v = labels.editor_in(v) or v
            setattr(art, field, v or None)
        elif field in ("datePublished", "dateModified"):
            p = parse_date(_text(found[0]), profile.timezone)
            if p:
                setattr(art, field, p.iso)
                setattr(art, field + "Raw", p.raw)
        elif field == "authors":
            names: list[str] = []
            for f in found:
                names.extend(labels.authors_in(_text(f)) or labels.split_names(_text(f)))
            art.authors = names
        elif field == "breadcrumbs":
            art.breadcrumbs = [t for t in (_text(f) for f in found) if t]
        elif field == "nextPage":
            f = found[0]
            art.nextPage = _abs(url, f if isinstance(f, str) else f.get("href"))
        elif field == "images":
            art.images = [Image(u) for u in (_abs(url, f if isinstance(f, str) else f.get("src"))
                                             for f in found) if u]
    return body_el


def _is_article(body: str, found_ld: float, all_blocks: list[Block], meta: Meta, has_date: bool) -> bool:
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
    if not any(text_len(p) >= 50 and len(_SENTENCE_PUNCT.findall(p)) >= 2 for p in body.split("\n")):
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


def extract(body: bytes, url: str, *, headers: Mapping[str, str] | None = None,
            profile: PortalProfile | None = None) -> Article:
    """Turn one fetched page into an Article (``isArticle`` False for pages holding none)."""
    tz = profile.timezone if profile is not None else "Asia/Shanghai"
    if isinstance(body, str):  # already decoded by the caller
        text, encoding = body, None
    else:
        text, encoding = decode(body, url, headers=headers, hint=profile.charset if profile is not None else None)
    text = text.replace("\x00", "")
    try:
        # Plain lxml elements: lxml.html's element-class lookup cost a fifth of the extraction time.
        doc = etree.fromstring(_XML_DECL.sub("", text, count=1), _PARSER) if text.strip() else None
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise ExtractionError(f"{url}: cannot parse the page as HTML ({exc})") from None
    art = Article(url=url, encoding=encoding)
    if doc is None:
        art.isArticle = False
        return art
    meta = read_meta(doc)
    clean(doc)
    body_el = _apply_selectors(doc, profile, art, url) if profile is not None and profile.selectors else None

    all_blocks = blocks(doc)
    headline, hidx = _headline(doc, meta, all_blocks)
    art.headline = art.headline or headline

    anchor = -1
    if body_el is not None:
        from newscrawler.extract.content import Found
        sub = blocks(body_el)
        found = Found(body_el, sub, sum(b.link for b in sub) / max(1, sum(len(b.text) for b in sub)))
    else:
        anchor = _anchor(all_blocks, hidx)
        found = find_main(all_blocks, anchor, _is_entry_header, labels.is_byline)
    lines = body_lines(found, art.headline)
    # Byline lines inside the container are metadata, not body.
    lines = [b for b in lines if not labels.is_byline(b.text)]
    art.articleBody = "\n".join(b.text for b in lines)
    if not art.articleBody and meta.ld_body:
        art.articleBody = meta.ld_body.strip()

    # Labels fill what selectors left empty; structured metadata beats labels for dates with offsets.
    lab = _scan_labels(all_blocks, hidx, tz)
    anchor_date = parse_date(all_blocks[anchor].text, tz) if anchor >= 0 else None
    if not art.datePublished:
        pd = None
        if meta.datePublished:
            pd = _to_iso(meta.datePublished, tz)
            shown = lab.get("pub") or lab.get("bare")
            if pd is not None and pd.precision == "day" and shown is not None \
                    and shown.precision != "day" and shown.iso[:10] == pd.iso[:10]:
                pd = shown  # the page prints the time the metadata left out
            elif pd is not None:
                pd = _local_offset(pd, shown)
        pd = pd or lab.get("pub") or lab.get("mod") or lab.get("bare") or lab.get("pub_far") \
            or lab.get("mod_far") or anchor_date or _citation_month(lines, tz)
        if pd is None:
            pd = date_from_url(url, tz)
        if pd:
            art.datePublished, art.datePublishedRaw = pd.iso, pd.raw
    if not art.dateModified:
        md = _to_iso(meta.dateModified, tz) if meta.dateModified else None
        md = md or (lab.get("mod") if lab.get("pub") else None)
        if md:
            art.dateModified, art.dateModifiedRaw = md.iso, md.raw
    if not art.source:
        art.source = lab.get("source") or meta.source
    if not art.authors:
        art.authors = lab.get("authors") or lab.get("authors_far") or _body_credit(lines) \
            or lab.get("authors_long") or [
            a for a in meta.authors
            # CMSs fill the author meta with user ids or the outlet's name.
            if not a.isdigit() and len(a) <= 40 and not re.search(r"[@/]", a)
            and a not in (art.source, meta.site_name, meta.source)
            and a not in (meta.title or "").replace(art.headline or "\0", "")]
    if not art.editor:
        art.editor = lab.get("editor") or meta.editor
    if not art.breadcrumbs:
        art.breadcrumbs = _breadcrumbs(all_blocks)
    if found.container is not None:
        frag = etree.Element("div")
        for b in lines:
            p = etree.SubElement(frag, "p")
            p.text = b.text
        art.articleBodyHtml = etree.tostring(frag, encoding="unicode") if lines else None
    if not art.images:
        art.images = _images(found.container, url)
    art.mainImage = _abs(url, meta.image) or (art.images[0].url if art.images else None)
    art.description = meta.description
    art.keywords = meta.keywords
    art.canonicalUrl = _abs(url, meta.canonical)
    art.inLanguage = _language(meta, art.articleBody, profile)
    if art.inLanguage in (None, "zh"):
        art.script = detect_script(art.articleBody or art.headline or "")
    art.isArticle = _is_article(art.articleBody, found.link_density, all_blocks, meta,
                                bool(lab.get("pub") or lab.get("mod") or lab.get("bare") or meta.datePublished))
    if art.isArticle and not art.nextPage:
        art.nextPage = _next_page(doc, url)
    elif not art.isArticle:
        art.nextPage = None
    return art


def merge_pages(pages: list[Article]) -> Article:
    """One article from its pages: the first page's metadata, the bodies concatenated in order."""
    if not pages:
        raise ValueError("merge_pages needs at least one page")
    first = pages[0]
    merged = Article(**{**first.to_dict(), "images": list(first.images)})
    merged.images = [Image(**i) if isinstance(i, dict) else i for i in first.images]
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
