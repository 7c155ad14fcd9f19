"""The numbers of one run, per portal: what its listing pages brought, what its articles carried, what failed.

Listing and storage numbers come from the crawl's stats (`portal/<site>/…`, set by the spider and the store
pipeline); what the articles carried and why pages failed is counted here, one cheap update per item (the
monitors' whole per-item cost: a few dict increments, measured in README's health section).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Any

from itemadapter import ItemAdapter

from newscrawler.monitors.thresholds import COVERAGE_FIELDS

# fetch_failed kinds that are an article page failing (home and column pages are the listing check's).
ARTICLE_KINDS = ("article", "extraction", "import")


@dataclass
class PortalCounters:
    articles: int = 0                                        # items that passed every stage
    fields: Counter = field(default_factory=Counter)         # COVERAGE_FIELDS present, over `articles`
    body_chars: list[int] = field(default_factory=list)
    extracted: int = 0                                       # items that reached the pipelines (stored or dropped)
    selectors: Counter = field(default_factory=Counter)      # profile selectors that matched, over `extracted`
    dropped: Counter = field(default_factory=Counter)        # reason → items
    fetch_errors: Counter = field(default_factory=Counter)   # "HTTP 404", "timeout", "connection", "extraction"…
    item_errors: int = 0                                     # a pipeline raised (a bug, not the portal)
    schema_checked: int = 0
    schema_errors: dict[str, str] = field(default_factory=dict)  # field → first message

    def count_article(self, item: ItemAdapter) -> None:
        self.articles += 1
        self.count_extracted(item)
        fields = self.fields
        if item.get("headline"):
            fields["headline"] += 1
        if item.get("datePublished"):
            fields["datePublished"] += 1
        if item.get("source"):
            fields["source"] += 1
        if item.get("authors") or item.get("editor"):
            fields["byline"] += 1
        self.body_chars.append(len(item.get("articleBody") or ""))

    def count_extracted(self, item: ItemAdapter) -> None:
        self.extracted += 1
        for name in item.get("selectorsMatched") or ():
            self.selectors[name] += 1

    def count_dropped(self, item: ItemAdapter, reason: str) -> None:
        self.count_extracted(item)
        self.dropped[reason] += 1

    def count_fetch_error(self, kind: str, status: int | None, reason: str) -> None:
        if kind == "extraction":
            self.fetch_errors["extraction"] += 1
        elif status:
            self.fetch_errors[f"HTTP {status}"] += 1
        elif "timeout" in reason.lower() or "timedout" in reason.lower():
            self.fetch_errors["timeout"] += 1
        else:
            self.fetch_errors["connection"] += 1


def _keys(counts: dict[str, Any]) -> dict[str, Any]:
    """The mapping with keys MongoDB stores as they are (a schema error's path has dots: images.0.url)."""
    return {str(k).replace(".", "/").lstrip("$"): v for k, v in counts.items()}


def drop_reason(exception: BaseException) -> str:
    """The counted reason of a DropItem (`drop()` in pipelines/validate.py words it "reason: url")."""
    return str(exception).split(":", 1)[0].strip() or type(exception).__name__


def portal_metrics(site: str, stats: dict[str, Any], counters: PortalCounters) -> dict[str, Any]:
    """One portal's numbers for this run, as stored in the run record and the portal's history."""
    def stat(name: str) -> int:
        return stats.get(f"portal/{site}/{name}", 0)

    n = counters.articles
    failures = sum(counters.fetch_errors.values()) + sum(counters.dropped.values()) + counters.item_errors
    attempts = counters.articles + failures
    return {
        "listingRequests": stat("listing_requests"),
        "listingPages": stat("listing_pages"),
        "listingFailures": stat("listing_failures"),
        "articleLinks": stat("article_links"),
        "articlePages": stat("article_pages"),
        "new": stat("articles_new"),
        "updated": stat("articles_updated"),
        "unchanged": stat("articles_unchanged"),
        "articles": n,
        "coverage": {f: round(counters.fields[f] / n, 4) for f in COVERAGE_FIELDS} if n else {},
        "bodyChars": int(median(counters.body_chars)) if counters.body_chars else None,
        "extracted": counters.extracted,
        "selectors": {name: round(k / counters.extracted, 4) for name, k in counters.selectors.items()}
        if counters.extracted else {},
        "attempts": attempts,
        "failures": failures,
        "errorRate": round(failures / attempts, 4) if attempts else None,
        "fetchErrors": _keys(counters.fetch_errors),
        "dropped": _keys(counters.dropped),
        "itemErrors": counters.item_errors,
        "schemaChecked": counters.schema_checked,
        "schemaErrors": _keys(counters.schema_errors),
    }
