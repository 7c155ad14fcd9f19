"""Article extraction: bytes + URL (+ optional portal profile) in, an Article out.

A plain library: no Scrapy, no database. Used by the spider, `newscrawler extract`, `newscrawler import`
and the accuracy benchmark.
"""

from newscrawler.extract.article import Article, CharsetError, ExtractionError, Image
from newscrawler.extract.core import extract, merge_pages

__all__ = ["Article", "CharsetError", "ExtractionError", "Image", "extract", "merge_pages"]
