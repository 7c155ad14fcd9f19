"""The pieces a recording is built from: columns, article placements and recorded responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Column:
    site: str
    key: str
    name: str
    url: str
    # str.format pattern with {n} for page n >= 2; must match the profile's pagination_pattern.
    page_pattern: str
    # Breadcrumb trail shown on this column's article pages (site name first, "正文" added by templates).
    crumbs: tuple[str, ...]
    # Per-column URL prefix for article pages (dahe's columns live on different hosts).
    article_host: str

    def page_url(self, n: int) -> str:
        return self.url if n == 1 else self.page_pattern.format(n=n)


@dataclass
class Placement:
    """One article page on one portal: a story as that portal published it."""

    site: str
    column: Column
    story: str
    headline: str
    paragraphs: list[str]
    published: datetime
    date_raw: str
    source: str
    authors: list[str]
    editor: str
    script: str = "Hans"
    url: str = ""
    # The URL the column page links (differs from url when the old address redirects).
    linked_url: str = ""
    pages: int = 1
    double: bool = False
    # Declares gb2312 in <meta> while the bytes are UTF-8.
    meta_mismatch: bool = False
    # Drawn by the generator's regular sequence (identical in every version), not a hand-placed special.
    generated: bool = False
    also_in: list[Column] = field(default_factory=list)
    special: list[str] = field(default_factory=list)
    content_type: str = ""
    charset: str = ""
    related: list[tuple[str, str]] = field(default_factory=list)
    # The 热点排行 list of a drifted layout (drift.py).
    ranking: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Route:
    url: str
    status: int
    content_type: str = ""
    body: bytes = b""
    location: str = ""
