"""The extractor's errors. The article it returns is the project's one article schema (newscrawler.schema)."""

from __future__ import annotations

from newscrawler.schema import Article, Image


class ExtractionError(ValueError):
    """A page could not be turned into an article; the message names the URL and the reason."""


class CharsetError(ExtractionError):
    """The bytes cannot be decoded cleanly in any plausible charset (never stored as mojibake)."""


__all__ = ["Article", "CharsetError", "ExtractionError", "Image"]
