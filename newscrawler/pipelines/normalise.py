"""Second stage: canonical URL, clean text, script and Simplified key, UTC dates, canonical outlet — and dedup's
sketch of the text — made in the extraction process when the crawl has one (newscrawler/extensions/extraction.py),
which takes the stage's computing off the crawler's core."""

from __future__ import annotations

import logging
from typing import Any

from itemadapter import ItemAdapter

from newscrawler.extensions.extraction import normalise_fields_of
from newscrawler.normalise.article import READS, normalise_item
from newscrawler.pipelines.validate import MIN_BODY_CHARS, drop

logger = logging.getLogger(__name__)


def profile_for(crawler, site: str | None):
    """The portal profile of the item's site, when the spider has one (imports may not)."""
    profiles = getattr(crawler.spider, "profiles", None) or {}
    return profiles.get(site) if site else None


class NormalisePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.waiting: dict[int, Any] = {}  # items in the extraction process's hands

    @classmethod
    def from_crawler(cls, crawler) -> NormalisePipeline:
        return cls(crawler)

    async def process_item(self, item: Any) -> Any:
        article = ItemAdapter(item)
        fields = {name: article[name] for name in READS if name in article}
        self.waiting[id(item)] = item
        try:
            normalised = await normalise_fields_of(self.crawler, fields, profile_for(self.crawler, article.get("site")))
        finally:
            self.waiting.pop(id(item), None)
        article.update(normalised)
        # Validation counted characters before invisible ones and repeated blocks were removed.
        if len(article["articleBody"]) < MIN_BODY_CHARS:
            raise drop(self.crawler, "no_body", article.get("url") or "?")
        return item

    def unfinished(self) -> list[Any]:
        """The items waiting for the extraction process, normalised here: a run stopped at once spills them with
        the ones dedup and the store hold (the process is stopped with the crawl)."""
        done = []
        for item in list(self.waiting.values()):
            article = ItemAdapter(item)
            try:
                normalise_item(article, profile_for(self.crawler, article.get("site")))
            except Exception:  # noqa: BLE001 - one item; the rest are still kept
                logger.exception("%s could not be normalised; not kept", article.get("url") or "?")
                continue
            if len(article["articleBody"]) >= MIN_BODY_CHARS:
                done.append(item)
        self.waiting.clear()
        return done
