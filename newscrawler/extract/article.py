"""The article record the extractor returns: schema.org NewsArticle field names (as Zyte's article schema)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


class ExtractionError(ValueError):
    """A page could not be turned into an article; the message names the URL and the reason."""


class CharsetError(ExtractionError):
    """The bytes cannot be decoded cleanly in any plausible charset (never stored as mojibake)."""


@dataclass
class Image:
    url: str
    caption: str | None = None


@dataclass
class Article:
    url: str
    headline: str | None = None
    # ISO 8601 with the portal's UTC offset, e.g. "2024-03-23T20:21:02+08:00"; raw = as printed on the page.
    datePublished: str | None = None
    datePublishedRaw: str | None = None
    dateModified: str | None = None
    dateModifiedRaw: str | None = None
    authors: list[str] = field(default_factory=list)
    editor: str | None = None
    # 来源: the outlet the story came from (never the author).
    source: str | None = None
    breadcrumbs: list[str] = field(default_factory=list)
    # Paragraphs separated by "\n".
    articleBody: str = ""
    articleBodyHtml: str | None = None
    images: list[Image] = field(default_factory=list)
    mainImage: str | None = None
    description: str | None = None
    keywords: list[str] = field(default_factory=list)
    inLanguage: str | None = None
    # "Hans" or "Hant" for Chinese text, None otherwise.
    script: str | None = None
    canonicalUrl: str | None = None
    # The charset the bytes were decoded with.
    encoding: str | None = None
    # The "下一页" continuation of a multi-page article, for the fetcher to follow.
    nextPage: str | None = None
    # False for pages that hold no article (column/list pages, index pages).
    isArticle: bool = True

    def to_dict(self) -> dict:
        return asdict(self)
