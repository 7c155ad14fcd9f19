"""The main-content finder for pages no profile knows.

The page is cut into text blocks (a block element's own inline run, split at <br>), each remembering
how much of its text sits inside links. Blocks score by length and punctuation (sentences have commas;
menus do not) and hand the score to their container and its parent; the container with the best score
discounted by its link density holds the article. Its blocks, minus link lists and boilerplate, are the
body; a paragraph the page holds twice appears once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import chain

from lxml import etree

# Elements that never hold article text.
JUNK_TAGS = ("script", "style", "noscript", "iframe", "object", "embed", "svg", "canvas", "select",
             "option", "textarea", "button", "input", "template", "map", "head", "title", "label", "dialog",
             "menu")
# Page furniture, unless a CMS wrapped the article itself in it (rnz.de puts it in an <aside>).
FURNITURE = ("nav", "aside", "footer")
_HOLDS_ARTICLE = etree.XPath('.//article|.//main|.//*[@itemprop="articleBody"]')
BLOCK_TAGS = frozenset({
    "p", "div", "td", "th", "li", "section", "article", "blockquote", "pre", "h1", "h2", "h3", "h4", "h5",
    "h6", "table", "tr", "tbody", "thead", "ul", "ol", "dl", "dd", "dt", "center", "body", "figure",
    "figcaption", "main", "header", "form", "fieldset", "address", "caption", "hr", "html", "details",
    "summary",
})
# Text blocks that are paragraphs of their container (their score goes to the container).
PARA_TAGS = frozenset({"p", "pre", "li", "blockquote", "h2", "h3", "h4", "h5", "h6", "dd", "dt",
                       "figcaption", "center", "font", "span"})
_PUNCT = re.compile(r"[，。、；：！？,;:!?．“”「」《》…—]|\.\s")
# Runs of ASCII whitespace collapse; no-break and ideographic spaces are part of the text as printed.
_WS = re.compile(r"[ \t\r\n\f\v]+")
# Class/id words of boilerplate and of article containers: they nudge a candidate's score (±25), the
# text decides.
_NEG = re.compile(r"comment|footer|foot|sidebar|side|related|recommend|share|social|nav|menu|banner|"
                  r"breadcrumb|copyright|advert|\bad\b|ads|promo|hot|rank|links|widget|popular|sponsor|"
                  r"disclaimer|subscribe|newsletter|tags?\b|login|toolbar|pager|pagination|crumb|"
                  r"keyword|author-info|caption|byline|meta", re.I)
_POS = re.compile(r"article|content|body|text|entry|main|story|post|detail|news|zoom|editor|"
                  r"con\b|cont\b|txt|正文", re.I)
# The same words for lower-cased ASCII class names, without IGNORECASE: every word then opens with a plain
# literal and the regex engine skips to where one could start (_NEG searched 4.5–12 µs a class name with
# IGNORECASE, 0.5–1.5 µs so). \bad\b is written ad(?<!\wad)\b: the same test, literal first.
_NEG_LOWER = re.compile(_NEG.pattern.replace(r"\bad\b", r"ad(?<!\wad)\b"))
_POS_LOWER = re.compile(_POS.pattern)
# Lines that are boilerplate wherever they appear.
BOILER = re.compile(
    r"^(?:.{0,12}(?:免责声明|免責聲明|版权声明|版權聲明|版权所有|版權所有|Copyright|©|All rights reserved|"
    r"未经授权|未經授權|未经许可|未經許可|转载请注明|轉載請註明|本文来源于|举报电话|舉報電話|ICP备|ICP證|"
    r"扫一扫|掃一掃|分享到|分享至|打印本页|打印本頁|关闭窗口|關閉窗口|返回顶部|返回頂部|字号|字號|"
    r"责任编辑|責任編輯|文章编辑|文章編輯|相关阅读|相關閱讀|相关新闻|相關新聞|相关文章|推荐阅读|"
    r"热点推荐|延伸阅读|上一篇|下一篇|上一页|下一页|点击排行|网友评论|發表評論|发表评论|我要评论|"
    r"Share this|Follow us|Sign up|Subscribe|Advertisement|Related|Read more|READ MORE|"
    r"正文已结束|正文已結束|返回.{0,8}首页|返回.{0,8}首頁|"
    r"当前位置|當前位置|您的位置|您现在的位置|您現在的位置|您所在的位置|你的位置|所在位置))", re.I)
# Whole lines that are page furniture on Western sites: ad slots, gallery controls, photo credits, bare
# links and addresses.
UI_LINE = re.compile(
    r"^(?:Advert(?:isement)?|ADVERTISEMENT|Sponsored|Share(?: this)?(?: (?:article|story|page))?|Caption|Close|"
    r"Print|Email|Comments?|Back to (?:Gallery|top)|Image \d+ of\s*/?\s*\d+|\d+\s*/\s*\d+|Continue reading.*|"
    r"Skip (?:Ad|to content)|Loading.*|Order Reprints|Print Article|Text size)\s*$"
    r"|^(?:Photo|Image|Picture|Credit|Photograph|Foto|Bild)\s*:\s*\S"
    r"|^(?:https?://|www\.)\S+$|^[\w.+-]+@[\w-]+\.[\w.]+$|^(?:twitter|facebook|instagram)\.com/\S+$", re.I)
# A tail of the article: everything after these lines is not body.
END_MARK = re.compile(
    r"^(?:[【\[(（]?\s*(?:责任编辑|責任編輯|文章编辑|文章編輯|责编|責編|编辑|編輯|本文编辑)\s*[:：︰丨|]"
    r"|.{0,8}(?:免责声明|免責聲明|版权声明|版權聲明|相关阅读|相關閱讀|相关新闻|相關新聞|相关文章|相關文章|"
    r"推荐阅读|推薦閱讀|延伸阅读|延伸閱讀|网友评论|網友評論|热门评论|发表评论|發表評論))")


# Headings that open a comment thread: once the article has begun, nothing after them is article text.
STOP_HEAD = re.compile(
    r"^(?:网友|網友|读者|讀者|最新|热门|熱門|全部|精彩)?(?:评论|評論|留言|回复|回覆|跟帖)(?:列表|区|區|\s*\(\d+\))?$"
    r"|^(?:发表|發表|我要|查看)(?:评论|評論|留言)"
    r"|^[\[(]?\s*(?:\d+\s+)?(?:(?:Top|Best|Latest|Newest|Reader|Readers'?|Most\s+\w+)\s+)?(?:Rated\s+)?"
    r"(?:Comments?|Responses?|Replies|Discussion)(?:\s*\(\d+\))?\s*[\])]?$"
    r"|^Leave a (?:Reply|Comment)|^(?:Join|Start) the (?:discussion|conversation)", re.I)
# Headings of link boxes: English pages drop them between paragraphs, so they are skipped, not stops.
RELATED_HEAD = re.compile(
    r"^(?:相关|相關|推荐|推薦|延伸|热点|熱點)(?:阅读|閱讀|新闻|新聞|文章|推荐)"
    r"|^Related (?:Articles|Stories|Posts|Content|Coverage)|^(?:More|Recommended) (?:Stories|from|for you)"
    r"|^(?:READ MORE|Read more|DON'T MISS|Trending|ADVERTISEMENT|Advertisement)\b", re.I)


_STOP_CLASS = re.compile(r"related|comment|recommend|you-?may|more-?stories|popular|trending|read-?next", re.I)
_HEADINGS = frozenset({"h2", "h3", "h4", "h5", "h6"})


def is_stop(b: Block) -> bool:
    """A heading that opens comments or a list of other stories (by its words or its class)."""
    if len(b.text) <= 24 and STOP_HEAD.match(b.text):
        return True
    # A heading classed as related/comments ends the article only when the text after it shares its
    # parent: a self-contained box of links (IndieWire, Sky News) can sit mid-article and is skipped.
    if not (b.el.tag in _HEADINGS and len(b.text) <= 40
            and _STOP_CLASS.search((b.el.get("class") or "") + " " + (b.el.get("id") or ""))):
        return False
    parent = b.el.getparent()
    if parent is None:
        return False
    plain = _chars(parent) - sum(_chars(a) for a in parent.iter("a"))
    return plain - _chars(b.el) > 150


def _chars(el: etree._Element) -> int:
    return len(_WS.sub("", text_of(el)))


@dataclass(slots=True)
class Block:
    el: etree._Element  # the element whose inline run this is
    text: str
    link: int  # characters inside <a>
    idx: int = 0


# Elements a page hides. The style test is made in Python on the few elements that have a style: XPath's
# translate()/contains() on every element cost 4–10 ms on a 3,000-element page, this 1.3 ms. The attributes
# are selected, not the elements holding them: clean() cost 49 µs a replay page so, 90 with
# descendant-or-self::*[@hidden or @style] (a predicate evaluated on every element).
_HIDDEN_OR_STYLE_ATTRS = etree.XPath("descendant-or-self::*/@hidden | descendant-or-self::*/@style")


def clean(doc: etree._Element) -> None:
    """Drop elements that never hold article text (in place)."""
    etree.strip_elements(doc, *JUNK_TAGS, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    for el in list(doc.iter(*FURNITURE)):
        if el.getparent() is not None and not _HOLDS_ARTICLE(el):
            _drop_keep_tail(el)
    prev = None
    for attr in _HIDDEN_OR_STYLE_ATTRS(doc):  # in document order: an element with both comes twice in a row
        el = attr.getparent()
        if el is prev:
            continue
        prev = el
        if el.get("hidden") is not None or "display:none" in el.get("style", "").replace(" ", ""):
            _drop_keep_tail(el)


def _drop_keep_tail(el: etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


# Where a text block ends. A run of nothing but whitespace (the line breaks between tags: 89,000 of the
# 169,000 runs cut on the replay) makes no block, and str.isspace() tests exactly what str.strip()
# removes, so the test spares those runs the collapsing.
_BREAKS = BLOCK_TAGS | {"br"}


def blocks(root: etree._Element, inner: etree._Element | None = None) -> tuple[list[Block], list[Block] | None]:
    """Cut the tree into text blocks in document order (one iteration, no Python recursion per element).

    With ``inner`` (a profile's body element), the same walk also returns that subtree's blocks, which are
    a slice of the page's; None when they are not (an inline element, or one inside a link), for the
    caller to walk the subtree itself. (One walk: the second one cost 3,734 walks for 2,529 pages.)"""
    out: list[Block] = []
    buf: list[str] = []
    linked = 0
    in_link = 0
    owners = [root]
    inner_start = inner_end = -1
    collapse = _WS.sub
    # Elements come in document order; an element's end is found when the next one is not inside it (the
    # None at the end closes all). iterwalk's start and end events cost a tenth more: twice the events.
    unclosed: list[etree._Element] = []
    for el in chain(root.iter(), (None,)):
        parent = el.getparent() if el is not None else None
        while unclosed and unclosed[-1] is not parent:
            done = unclosed.pop()
            tag = done.tag
            if tag in BLOCK_TAGS:
                owner = owners.pop()
                if buf:
                    text = "".join(buf)
                    if not text.isspace():
                        text = collapse(" ", text).strip()
                        out.append(Block(owner, text, min(linked, len(text)), len(out)))
                    buf.clear()
                linked = 0
                if done is inner:
                    inner_end = len(out)
            elif tag == "a":
                in_link -= 1
            tail = done.tail
            if tail and done is not root:
                buf.append(tail)
                if in_link:
                    linked += len(tail.strip())
        if el is None:
            break
        unclosed.append(el)
        tag = el.tag
        if tag in _BREAKS:
            if buf:
                text = "".join(buf)
                if not text.isspace():  # most runs cut here are the whitespace between tags
                    text = collapse(" ", text).strip()
                    out.append(Block(owners[-1], text, min(linked, len(text)), len(out)))
                buf.clear()
            linked = 0
            if tag != "br":
                owners.append(el)
                if el is inner and not in_link:
                    inner_start = len(out)
        elif tag == "a":
            in_link += 1
        text = el.text
        if text:
            buf.append(text)
            if in_link:
                linked += len(text.strip())
    if inner is None:
        return out, None
    return out, (out[inner_start:inner_end] if 0 <= inner_start <= inner_end else None)


# The string value of an element (its text nodes; no comments), as plain lxml elements lack text_content().
text_of = etree.XPath("string()")


_ASCII_WS = re.compile(r"[ \t\r\n\f\v]+")


def clean_text(el: object) -> str:
    """An element's (or XPath string result's) text with ASCII whitespace runs collapsed."""
    if isinstance(el, str):
        return _ASCII_WS.sub(" ", el).strip()
    if isinstance(el, etree._Element):
        return _ASCII_WS.sub(" ", text_of(el)).strip()
    return ""


CJK_ROWS = bytes(range(0x34, 0xA0))  # U+3400–U+9FFF
HAN_ROWS = bytes(range(0x4E, 0xA0))  # U+4E00–U+9FFF


def count_in_rows(text: str, rows: bytes) -> int:
    """How many characters of the text lie in the 256-code-point rows listed (CJK_ROWS, HAN_ROWS): a BMP
    character's row is the high byte of its UTF-16 code unit; characters beyond the BMP are surrogate pairs
    (rows D8–DF) and never counted. In C: 9 µs for 2,000 Chinese characters, where the regex removing
    everything else took 59 (and 2.1 µs against 2.0 for a 100-character line)."""
    high = text.encode("utf-16-be", "surrogatepass")[::2]
    return len(high) - len(high.translate(None, rows))


def text_len(s: str) -> int:
    """CJK characters count double: a Chinese sentence is about half as long as an English one."""
    return len(s) + count_in_rows(s, CJK_ROWS)


def _class_weight(el: etree._Element) -> float:
    s = (el.get("class") or "") + " " + (el.get("id") or "")
    if not s.strip():
        return 0.0
    neg, pos = _NEG, _POS
    if s.isascii():  # as good as always; IGNORECASE on ASCII is lower-casing it
        s, neg, pos = s.lower(), _NEG_LOWER, _POS_LOWER
    w = 0.0
    if neg.search(s):
        w -= 25
    if pos.search(s):
        w += 25
    return w


@dataclass
class Found:
    container: etree._Element | None
    blocks: list[Block]
    link_density: float


def _other_entry(all_blocks: list[Block], outer: tuple[int, int] | None, inner: tuple[int, int] | None,
                 is_header: Callable[[str], bool]) -> bool:
    if not outer or not inner:
        return False
    for i in (*range(outer[0], inner[0]), *range(inner[1] + 1, outer[1] + 1)):
        b = all_blocks[i]
        if len(b.text) <= 80 and is_header(b.text):
            return True
    return False


@dataclass
class _Tally:
    """Per element: score from the text blocks it holds (itself and as parent), the index of its first
    scored block, and the sums of its whole subtree: text and link totals, value (good text minus
    furniture), block span."""
    scores: dict = field(default_factory=dict)
    first: dict = field(default_factory=dict)
    # element → [chars, linked chars, value, first block, last block] of its subtree, for every element
    # holding a block and their ancestors (one list, not three dictionaries: a fifth of the tally's time).
    sums: dict = field(default_factory=dict)
    parent: dict = field(default_factory=dict)  # element → its parent, for every element holding a block
    class_weights: dict = field(default_factory=dict)

    def totals(self, el: etree._Element) -> tuple[int, int]:
        s = self.sums.get(el)
        return (s[0], s[1]) if s is not None else (1, 0)

    def value(self, el: etree._Element) -> float:
        s = self.sums.get(el)
        return s[2] if s is not None else 0.0

    def span(self, el: etree._Element) -> tuple[int, int] | None:
        s = self.sums.get(el)
        return (s[3], s[4]) if s is not None else None

    def weighted(self, el: etree._Element) -> float:
        total, linked = self.totals(el)
        weight = self.class_weights.get(el)
        if weight is None:
            weight = self.class_weights[el] = _class_weight(el)
        return (self.scores.get(el, 0.0) + weight) * (1 - linked / max(total, 1))


def _block_score(b: Block, tl: int) -> float:
    return (1 + len(_PUNCT.findall(b.text)) + min(tl / 100, 3)) * (1 - b.link / len(b.text))


def _tally(all_blocks: list[Block], anchor: int, is_byline: Callable[[str], bool]) -> _Tally:
    t = _Tally()
    stopped = False
    text_after_anchor = 0.0
    own: dict[etree._Element, list] = {}  # element → [chars, linked chars, value, first, last] of its own blocks
    for b in all_blocks:
        n = len(b.text)
        tl = text_len(b.text)
        el = b.el
        if not stopped and anchor >= 0 and b.idx > anchor and text_after_anchor >= 10 and is_stop(b):
            stopped = True
        good = not stopped and tl >= 25 and b.link <= n * 0.5 and el.tag != "h1" and b.idx != anchor \
            and not (n < 120 and is_byline(b.text))
        # Good text adds value, menus/link lists/comments cost it (the headline is neutral).
        score = _block_score(b, tl) if good else 0.0
        v = score if good else (0.0 if b.idx == anchor or el.tag == "h1" else -(1 + tl / 40))
        o = own.get(el)
        if o is None:
            own[el] = [n, b.link, v, b.idx, b.idx]
        else:
            o[0] += n
            o[1] += b.link
            o[2] += v
            o[4] = b.idx
        if not good:
            continue
        if el.tag == "li":  # list items are mostly menus, link lists and comment threads
            score /= 2
        if anchor >= 0 and b.idx > anchor:
            text_after_anchor += score
        # A paragraph scores for its container and half for the one above; a div holding text directly
        # is a container itself.
        c1 = el.getparent() if el.tag in PARA_TAGS else el
        c2 = c1.getparent() if c1 is not None else None
        for c, w in ((c1, 1.0), (c2, 0.5)):
            if c is not None:
                t.scores[c] = t.scores.get(c, 0.0) + score * w
                t.first.setdefault(c, b.idx)
    _subtree_totals(t, own)
    return t


def _subtree_totals(t: _Tally, own: dict[etree._Element, list]) -> None:
    """Totals, value and span of every element's whole subtree: each element's own sums added into its
    parent's, deepest elements first. (Adding every block into each of its ancestors cost depth × blocks
    dictionary updates; this is one per element.)"""
    parent = t.parent
    depth: dict[etree._Element, int] = {}
    for el in own:
        if el in depth:
            continue
        chain = []
        e = el
        while True:  # up to the first element already placed (or the root)
            chain.append(e)
            p = parent[e] = e.getparent()
            if p is None or p in depth:
                d = depth[p] if p is not None else -1
                break
            e = p
        for e in reversed(chain):
            d += 1
            depth[e] = d
    acc = own  # the own sums are not needed afterwards: children's are added into them in place
    for el in sorted(depth, key=depth.__getitem__, reverse=True):
        sums = acc.get(el)
        if sums is None:
            continue
        p = parent[el]
        if p is None:
            continue
        up = acc.get(p)
        if up is None:
            acc[p] = sums[:]
        else:
            up[0] += sums[0]
            up[1] += sums[1]
            up[2] += sums[2]
            if sums[3] < up[3]:
                up[3] = sums[3]
            if sums[4] > up[4]:
                up[4] = sums[4]
    t.sums = acc  # complete: every element's children came before it


def _pick(t: _Tally, anchor: int) -> tuple[etree._Element, float]:
    finals = {el: t.weighted(el) for el in t.scores}
    top = max(t.scores.values())
    best, best_score = None, -1e9
    for el, final in finals.items():
        # Near the anchor, a candidate with a real share of the text wins over a longer one further
        # away; a lone standfirst under the headline does not.
        start = t.first.get(el, -99)
        if anchor >= 0 and t.scores[el] >= top * 0.2 and anchor < start <= anchor + 8:
            final *= 3 if start <= anchor + 3 else 2
            finals[el] = final
        if final > best_score:
            best, best_score = el, final
    # A page of repeated entries (blog posts, forum replies) sharing one tag and class: the first
    # entry is the article (the post itself, or the newest post of a blog page). Three or more make a
    # list; a pair (a summary box and the body sharing a class) does not.
    cls = best.get("class")
    if cls:
        same = [el for el in finals if el.tag == best.tag and el.get("class") == cls]
        if len(same) >= 3:
            for el in same:
                if finals[el] >= best_score * 0.05 and t.first.get(el, 1 << 30) < t.first.get(best, 0):
                    return el, finals[el]
    return best, best_score


def _grow(best: etree._Element, t: _Tally, all_blocks: list[Block],
          is_header: Callable[[str], bool]) -> etree._Element:
    """A body split over several wrappers (one per few paragraphs): grow the container while an
    ancestor (up to 3 levels: wrappers that add nothing are skipped) adds more article text than
    furniture, and stop at another entry's header (the next blog post or forum reply)."""
    while True:
        up, target, cur = best.getparent(), None, t.value(best)
        for _ in range(3):
            if up is None or up.tag in ("body", "html"):
                break
            if t.value(up) > cur + 0.5:
                target = up
                break
            up = up.getparent()
        if target is None or _other_entry(all_blocks, t.span(target), t.span(best), is_header):
            return best
        best = target


def _members(best: etree._Element, best_score: float, t: _Tally) -> set[etree._Element]:
    """The container and its siblings that score like article text too."""
    members = {best}
    parent = best.getparent()
    if parent is not None:
        threshold = max(10.0, best_score * 0.2)
        for sib in parent:
            if sib is not best and sib in t.scores and t.weighted(sib) >= threshold:
                members.add(sib)
    return members


def _collect(members: set[etree._Element], t: _Tally, all_blocks: list[Block]) -> list[Block]:
    """The members' blocks, minus linked boxes (two or more blocks) worth less than nothing: tickers,
    "most popular" lists, share bars. Single short lines (subheadings) and unlinked lists stay."""
    chosen = []
    # A subtree's blocks are contiguous: only the members' index ranges need looking at.
    indices = sorted({i for m in members if (sp := t.span(m)) for i in range(sp[0], sp[1] + 1)})
    for i in indices:
        b = all_blocks[i]
        furniture = False
        anc = b.el
        while anc is not None:
            if anc in members:
                if not furniture:
                    chosen.append(b)
                break
            sp = t.span(anc)
            if sp and sp[1] > sp[0] and t.value(anc) < 0:
                t_all, t_link = t.totals(anc)
                furniture = furniture or t_link >= 0.25 * t_all
            anc = t.parent[anc]
    return chosen


def find_main(all_blocks: list[Block], anchor: int = -1,
              is_header: Callable[[str], bool] = lambda t: False,
              is_byline: Callable[[str], bool] = lambda t: False) -> Found:
    """The article's container and blocks. ``anchor``: index of the headline or byline block when known.
    Blogs and forums put several posts or a comment thread on the page, often longer than the article;
    the article is the text right after its headline/byline, so candidates starting there are preferred."""
    t = _tally(all_blocks, anchor, is_byline)
    if not t.scores:
        return Found(None, [], 1.0)
    best, best_score = _pick(t, anchor)
    best = _grow(best, t, all_blocks, is_header)
    chosen = _collect(_members(best, best_score, t), t, all_blocks)
    total, linked = t.totals(best)
    return Found(best, chosen, linked / max(total, 1))


def _in_figure(el: etree._Element, stop: etree._Element | None) -> bool:
    for _ in range(5):
        if el is None or el is stop:
            return False
        if el.tag in ("figure", "figcaption"):
            return True
        el = el.getparent()
    return False


def body_lines(found: Found, headline: str | None) -> list[Block]:
    """The container's blocks minus link lists, label lines, boilerplate and repeats."""
    out: list[Block] = []
    seen: set[str] = set()
    hl = _WS.sub("", headline or "")
    for b in found.blocks:
        t = b.text
        n = len(t)
        if b.link > n * 0.6 and n < 300:
            continue
        if out and (END_MARK.match(t) or is_stop(b)):
            break
        if n < 200 and (BOILER.match(t) or RELATED_HEAD.match(t) or UI_LINE.match(t)):
            continue
        if _in_figure(b.el, found.container):  # captions belong to the image, not the text
            continue
        key = _WS.sub("", t)
        if hl and key == hl:
            continue
        if len(key) >= 8:
            if key in seen:
                continue
            seen.add(key)
        out.append(b)
    return out
