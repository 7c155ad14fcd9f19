"""Outlet names (来源) to one canonical form, from the data file sources.toml."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from newscrawler.extract.labels import strip_source_label
from newscrawler.normalise.script import simplify_chars
from newscrawler.normalise.text import normalise_inline

SOURCES_FILE = Path(__file__).with_name("sources.toml")
_TRIM = " \t[]【】()（）<>《》「」:：,，;；。.|/-—"
# Aliases shorter than this are never matched as a prefix ("央视" must not claim "央视频道网").
MIN_PREFIX = 3


@dataclass(frozen=True)
class Outlets:
    by_key: dict[str, str]
    sites: dict[str, frozenset[str]]  # site → canonical outlet names that site is


def _key(name: str) -> str:
    """Case, spacing, punctuation and script do not make a different outlet."""
    return re.sub(r"[\W_]+", "", simplify_chars(name)).lower()


@lru_cache(maxsize=4)
def load_outlets(path: Path = SOURCES_FILE) -> Outlets:
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    by_key: dict[str, str] = {}
    sites: dict[str, set[str]] = {}
    for i, entry in enumerate(data.get("outlet", [])):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{path}: outlet #{i + 1} has no name")
        for alias in [name, *entry.get("aliases", [])]:
            by_key[_key(alias)] = name
        for site in entry.get("sites", []):
            sites.setdefault(site, set()).add(name)
    return Outlets(by_key, {s: frozenset(n) for s, n in sites.items()})


def clean_source(raw: str | None) -> str | None:
    """The outlet name as printed, without the 来源 label and brackets around it."""
    text = normalise_inline(raw)
    if not text:
        return None
    text = strip_source_label(text).strip(_TRIM)
    return text or None


def canonical_source(raw: str | None, outlets: Outlets | None = None) -> str | None:
    """The one name of the outlet: an alias match first, then the longest alias the name starts with
    ("新华社客户端河南频道" → 新华社); an unknown outlet keeps its cleaned name."""
    name = clean_source(raw)
    if name is None:
        return None
    outlets = outlets or load_outlets()
    key = _key(name)
    if key in outlets.by_key:
        return outlets.by_key[key]
    best = ""
    for alias_key in outlets.by_key:
        if len(alias_key) >= MIN_PREFIX and key.startswith(alias_key) and len(alias_key) > len(best):
            best = alias_key
    return outlets.by_key[best] if best else name


def site_outlets(site: str | None, portal_name: str | None = None, outlets: Outlets | None = None) -> frozenset[str]:
    """The outlet names a site publishes as itself: from sources.toml, plus its profile's own name."""
    outlets = outlets or load_outlets()
    names = set(outlets.sites.get(site or "", ()))
    if portal_name:
        own = canonical_source(portal_name, outlets)
        if own:
            names.add(own)
    return frozenset(names)
