"""Second stage: canonical URL, clean text, script and Simplified key, UTC dates, canonical outlet."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter

from newscrawler.normalise.article import normalise_item
from newscrawler.pipelines.validate import MIN_BODY_CHARS, drop


def profile_for(crawler, site: str | None):
    """The portal profile of the item's site, when the spider has one (imports may not)."""
    profiles = getattr(crawler.spider, "profiles", None) or {}
    return profiles.get(site) if site else None


class NormalisePipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler) -> NormalisePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        article = ItemAdapter(item)
        normalise_item(article, profile_for(self.crawler, article.get("site")))
        # Validation counted characters before invisible ones and repeated blocks were removed.
        if len(article["articleBody"]) < MIN_BODY_CHARS:
            raise drop(self.crawler, "no_body", article.get("url") or "?")
        return item
