"""First stage: drop what is not an article worth storing, with a counted reason."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

MIN_BODY_CHARS = 20


def drop(crawler, reason: str, detail: str) -> DropItem:
    """Count the reason in the crawl stats (and so in the run record) and build the DropItem."""
    crawler.stats.inc_value(f"item_dropped_reasons/{reason}")
    return DropItem(f"{reason}: {detail}")


class ValidatePipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> ValidatePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        article = ItemAdapter(item)
        url = article.get("url") or "?"
        if not article.get("isArticle", True):
            raise drop(self.crawler, "not_article", url)
        if not article.get("site"):
            raise drop(self.crawler, "no_site", url)
        if not (article.get("headline") or "").strip():
            raise drop(self.crawler, "no_headline", url)
        if len((article.get("articleBody") or "").strip()) < MIN_BODY_CHARS:
            raise drop(self.crawler, "no_body", url)
        return item
