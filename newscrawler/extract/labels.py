"""Label rules: the "来源：… 发布时间：… 作者：…" lines Chinese CMSs print around an article.

Simplified and Traditional labels are both listed. Source (来源) and author (作者/记者) are kept apart:
the source is an outlet, the author a person.
"""

from __future__ import annotations

import re

from newscrawler.extract.dates import ParsedDate, parse_date

_COLON = r"\s*[:：︰]\s*"


def _bare(group: str) -> str:
    """A "(?:a|b)" group's alternatives, "a|b": searched for in one flat alternation of words that each open
    with a literal, the regex engine skips to where one could start; wrapped in groups, every word is tried
    at every position (9.5 µs on a 50-character line without any, against 1.1)."""
    return group[3:-1] if group.startswith("(?:") and group.endswith(")") else group
SOURCE_LABELS = (r"(?:信息来源|文章来源|新闻来源|稿件来源|本文来源|信息來源|文章來源|新聞來源|本文來源|"
                 r"来源于|來源於|来源|來源|稿源|出处|出處|Source)")
PUB_LABELS = (r"(?:发布时间|發佈時間|發布時間|发表时间|發表時間|发布日期|發佈日期|發布日期|"
              r"发表日期|发表于|發表於|"
              r"发稿时间|發稿時間|首发时间|上传时间|出版日期|刊发时间|成文日期|时间|時間|日期|Published|Posted)")
MOD_LABELS = r"(?:更新时间|更新時間|更新日期|修改时间|修改時間|最后更新|最後更新|Updated)"
AUTHOR_LABELS = (r"(?:作\s*者|撰\s*文|撰稿人?|执笔人?|執筆人?|本报记者|本報記者|记\s*者|記\s*者|实习生|實習生|"
                 r"文\s*/\s*图|文\s*/\s*圖|图\s*/\s*文|圖\s*/\s*文|文\s*图|(?<![\u4e00-\u9fff])文(?=\s*[/丨|｜：:])|发布者|發佈者|"
                 r"发帖人|楼主)")
# Reporters printed without a separator: "本报记者罗科苏盈发自北京", "（记者陈智 整合）".
REPORTER_RE = re.compile(r"(?:^|[（(\s]|本报|本報|报|報|社|台|网|網)(?:记者|記者|实习生|實習生)"
                         r"(?!走进|走進|来到|來到|从|從|在|获悉|獲悉|了解|采访|採訪|近日|日前|"
                         r"看到|发现|發現|注意到|获知|獲知|调查|調查|跟随|跟隨|随|隨|一行|们|們)(?P<v>[\u4e00-\u9fff]{2,4}?)"
                         r"(?<![称稱说說道到了的是])(?=\s|[）)】\]，,。、]|发自|發自|报道|報道|摄|攝|$)")
# Bylines that put the name first: "ggjjzhzz 发表于 2005-9-15", "本贴由大卫于…", "[ 黄宇 ] 来源：".
NAME_FIRST_RE = re.compile(
    r"(?:^|\s)(?P<a>[\w&.·-]{2,20})\s*(?:发表于|發表於|发表在|posted)\s*\d"
    r"|本[贴帖]由\s*(?P<b>[^\s于於]{2,12})\s*[于於]"
    r"|(?:^|\s)由\s*(?P<d>[^\s由]{2,12}?)\s*(?:张贴|張貼|发表|發表|发布|發佈|贴出|貼出|上传|上傳)"
    r"|^[^\[\]]{0,40}\[\s*(?P<c>[\u4e00-\u9fff]{2,4}(?:\s+[\u4e00-\u9fff]{2,4}){0,2})\s*\]\s*(?:来源|來源)")
# A closing credit at the end of the body: "（常书香 马丹阳）", "（总台记者 张倩）", "（姚峰 上海报道）".
CLOSING_CREDIT = re.compile(
    r"[（(]\s*(?:[\u4e00-\u9fff]{0,4}(?:记者|記者|通讯员|通訊員|实习生|實習生)\s*)?"
    r"(?P<v>[\u4e00-\u9fff]{2,4}(?:\s+[\u4e00-\u9fff]{2,4}){0,3})\s*"
    r"(?:[\u4e00-\u9fff]{2,3}(?:报道|報道))?\s*[）)]\s*$")
EDITOR_LABELS = (r"(?:责任编辑|責任編輯|文章编辑|文章編輯|值班编辑|值班編輯|网络编辑|網絡編輯|本文编辑|"
                 r"责编|責編|编辑|編輯|小编)")
# Any label: where one field's value ends and the next begins.
ANY_LABEL = re.compile(
    "(?:" + "|".join([SOURCE_LABELS, PUB_LABELS, MOD_LABELS, AUTHOR_LABELS, EDITOR_LABELS,
                      r"通讯员|通訊員|浏览|瀏覽|阅读|閱讀|点击|點擊|字号|字號|分享|评论|評論|打印|关闭|出自|发自|發自|举报|舉報|收藏|纠错|糾錯|手机看|手機看|【|\[|\||｜"])
    + r")")

# The 来源 label at the head of a value, with the brackets and colon around it: "来源：", "稿件来源:",
# "【来源】", "(来源 新华社)"; and a labelled value further along a line ("2024-3-23 来源：央视网"). The one
# home of this rule: metadata ids, profile selectors and the normalise stage's outlet names use it.
_SOURCE_NAMES = SOURCE_LABELS + r"|来自|來自"
_SOURCE_PREFIX = re.compile(r"^[\s\[\]【】()（）<>《》「」]*(?:" + _SOURCE_NAMES + r")[\s:：︰\]】)）]*", re.I)
_SOURCE_LABELLED = re.compile(r"(?:" + _SOURCE_NAMES + r")\s*[:：︰]\s*", re.I)


def strip_source_label(text: str) -> str:
    """What follows the 来源 label: the value after the first labelled "来源：" in the line, else the
    text without a leading label and the brackets around it."""
    m = _SOURCE_LABELLED.search(text)
    return text[m.end():] if m else _SOURCE_PREFIX.sub("", text)


SOURCE_RE = re.compile(SOURCE_LABELS + _COLON + r"(?P<v>.{1,60})")
# Words a line needs before the pattern next to it can match: cheap to search for (they start with a
# literal, so the regex engine skips ahead), they spare the full patterns most lines. AUTHOR_RE and
# EDITOR_RE open with lookbehinds, which make every position a candidate: 5 µs a line against 0.5.
_AUTHOR_HINT = re.compile(AUTHOR_LABELS.replace(r"(?<![\u4e00-\u9fff])文", "文"))  # AUTHOR_RE's labels
_EDITOR_HINT = re.compile(EDITOR_LABELS)  # EDITOR_RE's labels
_REPORTER_HINT = re.compile(r"记者|記者|实习生|實習生")  # REPORTER_RE's mandatory group
_NAME_FIRST_HINT = re.compile(r"发表|發表|posted|由|来源|來源")  # one of these is in each NAME_FIRST_RE branch
PUB_RE = re.compile(PUB_LABELS + r"\s*[:：︰]?\s*(?P<v>.{4,60})")
MOD_RE = re.compile(MOD_LABELS + r"\s*[:：︰]?\s*(?P<v>.{4,60})")
AUTHOR_RE = re.compile(r"(?<![编編])" + AUTHOR_LABELS + r"\s*(?:[:：︰丨|｜]\s*|\s+)"
                       r"(?P<v>.{1,60})")
EDITOR_RE = re.compile(r"[【\[(（]?\s*" + EDITOR_LABELS + r"\s*[:：︰丨|｜]\s*(?P<v>[^】\]）)\n]{1,40})")

# A person: 2-5 Han characters (· for transliterated names), a Latin name, or a forum nickname.
_NAME = re.compile(r"[\u4e00-\u9fff·•]{2,5}|[A-Za-z][A-Za-z.'\-]*(?:\s[A-Z][A-Za-z.'\-]*){0,3}"
                   r"|(?=.*[A-Za-z0-9_&])[\w&]{2,20}")
_NAME_STOP = re.compile(r"本报|本報|通讯员|通訊員|报道|報道|摄影|攝影|综合|綜合|整理|编译|編譯|实习生|實習生|简介|簡介|"
                        r"发自|發自|电|電$|采访|採訪|获悉|獲悉|了解|表示|调查|調查|观点|觀點|手记|手記|动态|動態|"
                        r"最新|专访|專訪|提问|提問|问|問$|^未知$|^佚名$|^匿名$|^不详$|^不詳$|^本站$")


_VALUE_END = re.compile(r"\s{2,}|\u3000|[\t\n）)】\]。；;！!？?]")


def _cut(value: str) -> str:
    """The value up to the next label, a wide gap or a bracket."""
    m = ANY_LABEL.search(value)
    if m and m.start() > 0:
        value = value[: m.start()]
    value = _VALUE_END.split(value.strip(), maxsplit=1)[0]
    return value.strip(" \u00a0:：|｜丨-—[]【】")


_NEXT_FIELD = re.compile(r"\s*(?:作者|记者|記者|时间|時間|发布|編輯|编辑).*$")
_MARKUP = re.compile(r"[=<>\"]")


def source_in(line: str) -> str | None:
    m = SOURCE_RE.search(line)
    if not m:
        return None
    v = _cut(m.group("v"))
    v = _NEXT_FIELD.sub("", v)
    # A date right after the label (no source printed) is not a source; nor is markup debris.
    if not v or parse_date(v) or len(v) > 30 or _MARKUP.search(v):
        return None
    return v


def pubdate_in(line: str, tz: str | None) -> ParsedDate | None:
    m = PUB_RE.search(line)
    while m:
        p = parse_date(m.group("v")[:40], tz)
        if p:
            return p
        m = PUB_RE.search(line, m.end())
    return None


def moddate_in(line: str, tz: str | None) -> ParsedDate | None:
    m = MOD_RE.search(line)
    return parse_date(m.group("v")[:40], tz) if m else None


_LATIN_NAME = re.compile(r"[A-Z][\w'’.-]*(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|der|da|di|la|le|bin|al)){0,4}")


def _latin_names(value: str) -> list[str]:
    """Western bylines separate people with commas and "and"; words inside a name are not separators."""
    names = []
    for part in re.split(r"\s*(?:,|;|&|\band\b|\|)\s*", value.strip()):
        part = part.strip(" .")
        if not part:
            continue
        if not _LATIN_NAME.fullmatch(part):
            break
        names.append(part.title() if part.isupper() else part)
    return names[:6]


_LATIN_START = re.compile(r"\s*[A-Za-z]")
_LATIN_WORDS = re.compile(r"[A-Za-z]+\s+[A-Za-z]")
_NAME_SEP = re.compile(r"[\s、，,;；/／和及]+|\band\b")


def split_names(value: str) -> list[str]:
    if _LATIN_START.match(value) and _LATIN_WORDS.search(value):
        return _latin_names(value)
    names = []
    # Names run until the first token that is not one ("安东尼 10分钟" → 安东尼).
    for part in _NAME_SEP.split(value):
        part = part.strip(" .·()（）[]【】:：")
        if not part:
            continue
        if _NAME_STOP.search(part) or parse_date(part) or part.isdecimal() \
                or not _NAME.fullmatch(part):
            break
        names.append(part)
    return names[:6]


# "By Jane Roe" only opens a line: mid-line "By" is a title's word ("Stand By Me").
EN_BY = re.compile(r"^\s*(?:By|BY)\s+(?P<v>[A-Z].{1,80})")


def authors_in(line: str) -> list[str]:
    m = EN_BY.match(line)
    if m:
        return split_names(re.split(r"\s*(?:[|•·–—]|\s{2,}|\b(?:on|at|Published|Updated)\b)", m.group("v"))[0])
    # Each search below runs only on lines holding words it needs (_HINT patterns): most lines hold none,
    # and the full patterns (lookbehinds first) cannot skip ahead as the hints do.
    m = BY_AFTER_DATE.search(line) if "by" in line else None
    if m and not re.search(r"©|\(c\)|copyright", line, re.I):
        return [m.group("v")]
    if _AUTHOR_HINT.search(line):
        for m in AUTHOR_RE.finditer(line):
            v = _cut(m.group("v"))
            names = split_names(v)
            if names:
                return names
    m = REPORTER_RE.search(line) if _REPORTER_HINT.search(line) else None
    if m:
        return split_names(m.group("v"))
    m = NAME_FIRST_RE.search(line) if _NAME_FIRST_HINT.search(line) else None
    if m:
        return split_names(m.group("a") or m.group("b") or m.group("c") or m.group("d"))
    return []


def closing_credit(paragraph: str) -> list[str]:
    """Names in the parenthesised credit that ends a Chinese news body."""
    m = CLOSING_CREDIT.search(paragraph[-40:])
    return split_names(m.group("v")) if m else []


def editor_in(line: str) -> str | None:
    m = EDITOR_RE.search(line) if _EDITOR_HINT.search(line) else None
    if not m:
        return None
    v = _cut(m.group("v"))
    names = split_names(v)
    return " ".join(names) if names else None


# Lines that are labels/metadata rather than body text (used to trim them from the body).
META_LINE = re.compile(
    "^(?:" + "|".join([SOURCE_LABELS, PUB_LABELS, MOD_LABELS, EDITOR_LABELS, r"作\s*者|作者简介"]) + r")\s*[:：︰]"
    r"|^[【\[(（]\s*" + EDITOR_LABELS + r"\s*[:：︰]")


# Flat (see _bare): 13.8 µs on a 96-character line with a colon, 1 µs flat. The one label that opens with a
# lookbehind has it moved behind its literal: the same test.
_ANY_FIELD = re.compile("(?:" + "|".join(_bare(p) for p in (
    SOURCE_LABELS, PUB_LABELS, MOD_LABELS,
    AUTHOR_LABELS.replace(r"(?<![\u4e00-\u9fff])文", r"文(?<![\u4e00-\u9fff]文)"))) + r")\s*[:：︰]")


# English bylines: "By Sean Martin", "By HNN Staff | November 18, 2019 at 2:26 PM", "Published 4:00 am …".
# Case matters: "By the end of the year, …" is a sentence.
EN_BYLINE = re.compile(
    r"^(?:By|BY)\s+[A-Z][\w.'’-]*(?:\s+(?:[A-Z][\w.'’-]*|and|&|de|van|von))*\s*(?:$|[|,•·–-])"
    r"|^(?:Published|Updated|Posted|Last updated|Originally published|PUBLISHED|UPDATED)\b.{0,80}\d{4}")


def is_byline(text: str) -> bool:
    """A metadata line ("2024年08月13日 14:48 来源：洛阳日报 作者：张卫东"), not body text."""
    if len(text) > 120:
        return False
    if META_LINE.search(text) or (EN_BYLINE.match(text) and not text.rstrip().endswith((".", "!", "?"))):
        return True
    if "。" in text:  # a sentence, however many labels it quotes
        return False
    # Every field label ends in a colon: a line without one is spared the search.
    labelled = len(_ANY_FIELD.findall(text)) if ":" in text or "：" in text or "︰" in text else 0
    return labelled >= 2 or (labelled == 1 and parse_date(text) is not None)


# "石佳/中国青年报": a reporter and the outlet, alone on the byline line.
SLASH_BYLINE = re.compile(r"^\s*(?P<a>[\u4e00-\u9fff·]{2,5}(?:\s+[\u4e00-\u9fff·]{2,5}){0,2})\s*[/／]\s*"
                          r"(?P<s>[\u4e00-\u9fff]{2,15})\s*$")


# A line holding nothing but names, as printed under a headline ("胡平", "赵延东、风笑天").
BARE_NAMES = re.compile(r"^\s*[\u4e00-\u9fff·]{2,3}(?:\s*[、，,]\s*[\u4e00-\u9fff·]{2,3}){0,4}\s*$")
_NOT_NAMES = re.compile(r"首页|首頁|新闻|新聞|返回|评论|評論|打印|关闭|關閉|分享|收藏|推荐|推薦|图片|圖片|视频|視頻|"
                        r"专题|專題|导读|導讀|正文|原创|原創|转载|轉載|要闻|要聞|本站|网站|網站|编辑|編輯|上午|下午|"
                        r"微信|微博|朋友圈|空间|空間|字号|字號|关注|關注|昨天|今天|前天|刚刚|剛剛|社$|报$|報$|网$|網$|"
                        r"来源|來源|作者|未知|佚名|匿名|不详|不詳|更多|阅读|閱讀|扫码|掃碼|登录|登錄|注册|註冊")
# "发布时间 2005/03/15 22:36:13 by duscha": a lower-case "by" is a byline only next to a date.
BY_AFTER_DATE = re.compile(r"\d[\d:/ -]*\s+by\s+(?P<v>[A-Za-z0-9_\-]{2,20})\b(?!\.\w)")


def bare_names(line: str) -> list[str]:
    if not BARE_NAMES.match(line) or _NOT_NAMES.search(line):
        return []
    return [n for n in re.split(r"\s*[、，,]\s*", line.strip()) if n]


# A cheap pre-filter: lines without any of these cannot hold a label, a date or a credit. Two searches:
# the characters as one class (the engine skips to them), then the words (flat): 3.5 µs on a 96-character
# line without any, against 6 for one alternation of both.
_LABEL_CHAR = re.compile(r"[:：︰/／丨|｜（(【\[\d]")
_LABEL_WORD = re.compile(r"记者|記者|作者|编辑|編輯|由|By\b|by\b")


def may_hold_label(line: str) -> bool:
    return _LABEL_CHAR.search(line) is not None or _LABEL_WORD.search(line) is not None


# Every word one of the field readers above needs before it can match (the labels and the _HINT words,
# "By"/"by", the slash of SLASH_BYLINE): one search spares a line all of them. Four in five lines around
# a headline hold none (57,800 lines on the replay). Flat (see _bare).
HOLDS_FIELD_WORD = re.compile("|".join(_bare(p) for p in (
    PUB_LABELS, MOD_LABELS, SOURCE_LABELS, _AUTHOR_HINT.pattern, _EDITOR_HINT.pattern, _REPORTER_HINT.pattern,
    _NAME_FIRST_HINT.pattern, "By|BY|by", "/|／")))
