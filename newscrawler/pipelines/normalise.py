"""Second stage: canonical URL, clean text, script and Simplified key, UTC dates, canonical outlet — and dedup's
sketch of the text — made in the extraction process when the crawl has one (newscrawler/extensions/extraction.py),
which takes the stage's computing off the crawler's core."""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter

from newscrawler.extensions.extraction import normalise_fields_of
from newscrawler.normalise.article import READS
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

    async def process_item(self, item: Any) -> Any:
        article = ItemAdapter(item)
        fields = {name: article[name] for name in READS if name in article}
        article.update(await normalise_fields_of(self.crawler, fields, profile_for(self.crawler, article.get("site"))))
        # Validation counted characters before invisible ones and repeated blocks were removed.
        if len(article["articleBody"]) < MIN_BODY_CHARS:
            raise drop(self.crawler, "no_body", article.get("url") or "?")
        return item
