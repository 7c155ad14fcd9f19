"""Faults a replay server injects on request, so tests can see what the crawler does when a portal misbehaves.

A fault is written `URL=KIND[:N]` (split at the last `=`, as in `--fault`): URL is an exact URL or a regular
expression that must match the whole URL; KIND is

    an HTTP status   503      answer with that status (a short HTML error page)
    stall                     accept the request and never answer (the connection stays open)
    reset                     drop the connection with a TCP reset
    huge                      the page with ~7 MB of article text added (under the crawler's 10 MB
                              DOWNLOAD_MAXSIZE), or a generated article page that size for an unknown URL
    ctrl                      the page with control characters (\\x08 \\x1b \\x1f) inside its headline and paragraphs

and N limits the fault to the first N requests of each matching URL, after which the URL is served normally
(`503:3`: three 503 answers, then the page). Without N the fault applies to every request. When several faults
match a URL, the first one with requests left applies: `URL=503:2` then `URL=stall:1` answers 503 twice,
stalls once, then serves the page.
"""

from __future__ import annotations

import http
import itertools
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from html import escape
from urllib.parse import urlsplit

KINDS = ("stall", "reset", "huge", "ctrl")
# Bytes of article text a `huge` page gains: the size of the page that broke the store in issue 12 (6.9 MB),
# under newscrawler's DOWNLOAD_MAXSIZE (10 MB) so the crawler takes it.
HUGE_BYTES = 7_000_000
CONTROL_CHARS = ("\x08", "\x1b", "\x1f")
_PARAGRAPH = re.compile(rb"<p>([^<]*)</p>")


@dataclass
class Fault:
    spec: str
    url: str
    kind: str  # "status" or one of KINDS
    status: int = 0
    limit: int | None = None
    pattern: re.Pattern[str] | None = None
    # Faulty answers so far, per URL (a regular expression counts each URL it matches on its own).
    served: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def matches(self, url: str) -> bool:
        return url == self.url or (self.pattern is not None and self.pattern.fullmatch(url) is not None)

    def take(self, url: str) -> bool:
        """Whether this request of `url` gets the fault (and count it if so)."""
        if not self.matches(url):
            return False
        with self._lock:
            if self.limit is not None and self.served[url] >= self.limit:
                return False
            self.served[url] += 1
            return True

    def describe(self) -> dict:
        with self._lock:
            return {"spec": self.spec, "url": self.url, "kind": self.kind, "status": self.status or None,
                    "limit": self.limit, "served": dict(self.served)}


def _exact(url: str) -> str:
    """An http URL as the server names requests (lower-case host, no default port); anything else unchanged."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or not parts.hostname:
        return url
    host = parts.hostname.lower() + (f":{parts.port}" if parts.port not in (None, 80) else "")
    out = f"http://{host}{parts.path or '/'}"
    return f"{out}?{parts.query}" if parts.query else out


def parse_fault(spec: str) -> Fault:
    """`URL=KIND[:N]` → Fault; ValueError with a one-line reason naming the spec otherwise."""
    url, sep, what = spec.rpartition("=")
    if not sep or not url or not what:
        raise ValueError(f"--fault {spec!r}: expected URL=KIND[:N], e.g. http://news.lyd.com.cn/lyxw/=503:3")
    kind, colon, count = what.partition(":")
    kind = kind.strip().lower()
    limit = None
    if colon:
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--fault {spec!r}: N in KIND:N must be a whole number of requests ≥ 1, not {count!r}")
        limit = int(count)
    status = 0
    if kind.isdigit():
        status = int(kind)
        if not 100 <= status <= 599:
            raise ValueError(f"--fault {spec!r}: {status} is not an HTTP status (100-599)")
        kind = "status"
    elif kind not in KINDS:
        raise ValueError(f"--fault {spec!r}: unknown kind {kind!r}; use an HTTP status (e.g. 503) or one of "
                         f"{', '.join(KINDS)}")
    try:
        pattern = re.compile(url)
    except re.error as exc:
        pattern = None
        if not url.startswith("http://"):
            raise ValueError(f"--fault {spec!r}: {url!r} is neither an http:// URL nor a valid regular "
                             f"expression ({exc})") from None
    return Fault(spec=spec, url=_exact(url), kind=kind, status=status, limit=limit, pattern=pattern)


# ---------------------------------------------------------------------------------------------- bodies

def status_body(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Injected fault"
    return f"<html><body><h1>{status} {escape(phrase)}</h1></body></html>".encode()


def _codec(body: bytes) -> str:
    """The codec a recorded page was written in: UTF-8, else GB18030 (the superset of the GBK pages)."""
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


@lru_cache(maxsize=2)
def filler(codec: str) -> bytes:
    """HUGE_BYTES of invented local-news paragraphs as `<p>` elements in `codec` (UTF-8 or GB18030); seeded,
    so every run serves the same text. Takes a second or two: a server makes it when a `huge` fault is added."""
    from newscrawler_replay.content import Writer

    writer = Writer(random.Random("huge-fault"))
    paragraphs, size = [], 0
    while size < HUGE_BYTES:
        place = writer.place()
        paragraphs.append(f"<p>{escape(''.join(writer.sentence(place) for _ in range(3)), quote=False)}</p>\n"
                          .encode(codec))
        size += len(paragraphs[-1])
    return b"".join(paragraphs)


def huge_body(body: bytes | None, url: str) -> bytes:
    """The recorded page with HUGE_BYTES of article text after its longest paragraph (the article body), in
    the page's own encoding; for a URL with no recorded HTML page, a plain UTF-8 article page that size."""
    paragraphs = list(_PARAGRAPH.finditer(body)) if body else []
    if not paragraphs:
        title = f"超长稿件 {escape(url)}"
        return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title></head>\n<body>'
                f'<h1>{title}</h1>\n<div class="content">\n').encode() + filler("utf-8") + b"</div></body></html>\n"
    longest = max(paragraphs, key=lambda m: len(m.group(1)))
    return body[:longest.end()] + b"\n" + filler(_codec(body)) + body[longest.end():]


def _spike(text: str, i: int) -> str:
    """Control characters inside a piece of text: after its first comma or full stop, else in the middle."""
    chars = CONTROL_CHARS[i % 3] + CONTROL_CHARS[(i + 1) % 3]
    cut = next((j + 1 for j, ch in enumerate(text) if ch in "，。,"), len(text) // 2)
    return text[:cut] + chars + text[cut:]


def ctrl_body(body: bytes | None) -> bytes | None:
    """The recorded page with control characters inside its headline and every paragraph's text (the bytes
    are otherwise unchanged), or None when it has no text to spike."""
    if not body:
        return None
    codec = _codec(body)
    text = body.decode(codec)
    counter = itertools.count()
    spiked = re.sub(r"(<(?:p|h1)(?:\s[^>]*)?>)([^<]+)(</(?:p|h1)>)",
                    lambda m: m.group(1) + _spike(m.group(2), next(counter)) + m.group(3), text)
    if spiked == text:
        return None
    return spiked.encode(codec)
