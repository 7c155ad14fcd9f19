"""One article item normalised: the pure function behind the normalise pipeline stage."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newscrawler.extract.dates import DEFAULT_TIMEZONE
from newscrawler.extract.script import detect_script
from newscrawler.normalise.dates import is_trusted, to_utc
from newscrawler.normalise.script import match_key, to_simplified
from newscrawler.normalise.sources import canonical_source, clean_source
from newscrawler.normalise.text import collapse_repeated_blocks, normalise_inline, normalise_text
from newscrawler.normalise.urls import canonical_url

if TYPE_CHECKING:
    from newscrawler.profiles import PortalProfile

INLINE_FIELDS = ("headline", "editor", "description")
LIST_FIELDS = ("authors", "breadcrumbs", "keywords")
# Every field normalise_item reads: the normalise stage sends only these to the extraction process (not the
# body's HTML), and sets every field it gets back.
READS = ("url", "canonicalUrl", *INLINE_FIELDS, *LIST_FIELDS, "articleBody", "script", "datePublished",
         "dateModified", "datePublishedRaw", "dateModifiedRaw", "source")


def _bare_host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def on_portal(link: str, url: str, profile: PortalProfile | None) -> bool:
    """Whether a rel=canonical link stays on the portal the page was fetched from: a syndicated page
    pointing its canonical at the original outlet is still its own article here."""
    if urlsplit(link).scheme not in ("http", "https"):
        return False
    if profile is not None:
        return profile.owns_url(link) and profile.owns_url(url)
    return _bare_host(link) == _bare_host(url)


def resolve_canonical(item: dict[str, Any], profile: PortalProfile | None) -> str:
    url = item["url"]
    rel = item.get("canonicalUrl")
    if isinstance(rel, str) and rel.strip() and on_portal(rel.strip(), url, profile):
        return canonical_url(rel.strip(), profile)
    return canonical_url(url, profile)


def body_hash(simplified_body: str) -> str:
    return hashlib.sha1(simplified_body.encode("utf-8")).hexdigest()


def normalise_item(item: dict[str, Any], profile: PortalProfile | None = None,
                   now: datetime | None = None) -> dict[str, Any]:
    """Normalise the item in place and return it. Sets canonicalUrl, text fields, script,
    articleBodySimplified (Traditional pages only), matchKey, bodyHash, UTC dates with their raw strings
    and dateTrusted, and source (canonical outlet) with sourceRaw."""
    item["canonicalUrl"] = resolve_canonical(item, profile)

    for name in INLINE_FIELDS:
        if name in item:
            item[name] = normalise_inline(item[name])
    for name in LIST_FIELDS:
        if isinstance(item.get(name), list):
            values = [normalise_inline(v) for v in item[name] if isinstance(v, str)]
            item[name] = list(dict.fromkeys(v for v in values if v))
    body = collapse_repeated_blocks(normalise_text(item.get("articleBody") or "") or "")
    item["articleBody"] = body

    # Extraction names the script (Article.script, None for text that is not Chinese); only an item that
    # never went through extract() has it detected here.
    script = item["script"] if "script" in item else detect_script(f"{item.get('headline') or ''}\n{body}")
    item["script"] = script
    simplified = to_simplified(body, script) or ""
    if script == "Hant":
        item["articleBodySimplified"] = simplified
        item["headlineSimplified"] = to_simplified(item.get("headline"), script)
    item["matchKey"] = match_key(simplified)
    item["bodyHash"] = body_hash(simplified)

    tz = profile.tz if profile is not None else DEFAULT_TIMEZONE
    for name in ("datePublished", "dateModified"):
        value = item.get(name)
        raw_name = f"{name}Raw"
        if not item.get(raw_name) and isinstance(value, str):
            item[raw_name] = value
        item[name] = to_utc(value, tz) if value is not None else None
    item["dateTrusted"] = is_trusted(item.get("datePublished"), now)

    raw_source = item.get("source")
    item["sourceRaw"] = raw_source
    item["source"] = canonical_source(raw_source) if raw_source else None
    if item["source"] is None and raw_source:
        item["source"] = clean_source(raw_source)
    return item
