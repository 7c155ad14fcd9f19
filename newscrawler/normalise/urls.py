"""Canonical URLs: one spelling per article, so re-crawls and `www.` variants never count twice.

w3lib's canonicalize_url does the URL-syntax part (percent-escapes in one case and only where needed, so a
Chinese path written raw, as %E6… or as %e6… is one key; `./` and `../` resolved; %7e → ~; query sorted;
fragment dropped). On top of it go the portal's rules: default port, `www.` as the profile says, no index
file, no tracking parameters.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

if TYPE_CHECKING:
    from newscrawler.profiles import PortalProfile

# Parameters that say how a reader arrived, never which article: share buttons, app referrers, ad clicks.
TRACKING_PARAMS = {"spm", "from", "fromid", "from_source", "fromsource", "share", "share_token",
                   "share_from", "sharefrom", "isappinstalled", "wxshare_count", "fbclid", "gclid", "msclkid",
                   "scene", "clicktime", "enterid", "tt_from", "tt_medium", "timestamp", "_t", "ivk_sa"}
DEFAULT_PORTS = {"http": 80, "https": 443}
INDEX_FILES = ("index.html", "index.htm", "index.shtml", "default.htm", "default.html")


def _is_tracking(pair: str) -> bool:
    key = unquote_plus(pair.split("=", 1)[0]).lower()
    return key.startswith("utm_") or key in TRACKING_PARAMS


def host_in(host: str, hosts: tuple[str, ...]) -> bool:
    """Whether a (lower-case) host name is one of `hosts` or under one of them."""
    return any(host == h or host.endswith("." + h) for h in hosts)


def canonical_url(url: str, profile: PortalProfile | None = None) -> str:
    """w3lib's canonical form, plus: lower-case host without user info or default port, no tracking
    parameters, no index file; the profile's `www` rule decides whether the host carries `www.`."""
    if profile is None:
        return _canonical(url, None, ())
    return _canonical(url, profile.www, profile.hosts)


# A crawl asks for the same URL's canonical form three times (the listing's link, the article, its
# normalisation), ~26 µs each: over the replay's 2,411 articles 65-76 µs per article uncached, 32-39 cached.
@lru_cache(maxsize=16384)
def _canonical(url: str, www: str | None, hosts: tuple[str, ...]) -> str:
    parts = urlsplit(canonicalize_url(url.strip()))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if www is not None and host_in((urlsplit(url).hostname or "").lower(), hosts):
        bare = host[4:] if host.startswith("www.") else host
        if www == "strip":
            host = bare
        elif www == "add" and bare in hosts:
            host = "www." + bare
    netloc = host
    if parts.port and parts.port != DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{parts.port}"
    path = parts.path or "/"
    for index in INDEX_FILES:
        if path.endswith("/" + index):
            path = path[: -len(index)]
            break
    # canonicalize_url has sorted and escaped the query; dropping pairs keeps both.
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, path, query, ""))


def spellings(url: str) -> list[str]:
    """The canonical URLs a person may mean by `url`: as typed (`http://` added when there is no scheme, as in
    `www.jzrb.com/…` or `jzrb.com/…`), over http and https, with and without `www.` — each made canonical
    with its portal's profile. A stored article is found by any of them (db show, the console's /article)."""
    from newscrawler.profiles import profile_for_url

    text = url.strip()
    if "://" not in text:
        text = "http://" + text.lstrip("/")
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    bare = host[4:] if host.startswith("www.") else host
    port = f":{parts.port}" if parts.port else ""
    out = []
    for scheme in dict.fromkeys((parts.scheme.lower(), "http", "https")):
        for name in dict.fromkeys((host, bare, "www." + bare)):
            candidate = urlunsplit((scheme, name + port, parts.path, parts.query, ""))
            out.append(canonical_url(candidate, profile_for_url(candidate)))
    return list(dict.fromkeys(out))
