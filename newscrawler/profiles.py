"""Portal profiles: everything known about one portal, as data (one TOML file per portal).

A profile names the portal's pages (home, columns), how to recognise article and pagination links,
optional field selectors for the extractor, the charset hint, the timezone and the politeness to keep.
Adding a portal means adding a file to ``newscrawler/portals/`` (or a directory named by
``NEWSCRAWLER_PROFILES``), never a new spider class.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import re2

from newscrawler.monitors.thresholds import ThresholdError
from newscrawler.monitors.thresholds import check as check_thresholds
from newscrawler.normalise.urls import host_in
from newscrawler.schema import selectable

BUILTIN_DIR = Path(__file__).parent / "portals"
# The article fields a profile may give a selector for come from the article schema.
SELECTOR_FIELDS = tuple(selectable())
# A pattern RE2 refuses is reported in the ProfileError, not printed to stderr by RE2 itself.
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


class ProfileError(ValueError):
    """A profile file is unreadable or a field in it is wrong; the message names both."""

    def __init__(self, path: str | Path, field_name: str | None, problem: str):
        self.path = str(path)
        self.field = field_name
        self.problem = problem
        where = f"{self.path}: field '{field_name}'" if field_name else self.path
        super().__init__(f"broken portal profile {where}: {problem}")


@dataclass(frozen=True)
class Politeness:
    download_delay: float = 0.5
    concurrent_requests: int = 4
    autothrottle: bool = True
    obey_robots: bool = True


@dataclass(frozen=True)
class PortalProfile:
    site: str
    name: str
    path: str
    hosts: tuple[str, ...]
    start_urls: tuple[str, ...]
    column_urls: tuple[str, ...]
    article_url_pattern: re2._Regexp
    pagination_pattern: re2._Regexp | None = None
    enabled: bool = True
    charset: str | None = None
    timezone: str = "Asia/Shanghai"
    language: str = "zh"
    # How the canonical host is written: "keep" as linked, "strip" a leading www., "add" one.
    www: str = "keep"
    max_pages_per_column: int = 50
    selectors: dict[str, str] = field(default_factory=dict)
    politeness: Politeness = field(default_factory=Politeness)
    # Health thresholds for this portal (the optional [health] table), over the settings' NEWSCRAWLER_HEALTH.
    health: dict[str, object] = field(default_factory=dict)

    def is_article_url(self, url: str) -> bool:
        return bool(self.article_url_pattern.search(url))

    def is_pagination_url(self, url: str) -> bool:
        return bool(self.pagination_pattern and self.pagination_pattern.search(url))

    def owns_url(self, url: str) -> bool:
        return host_in((urlsplit(url).hostname or "").lower(), self.hosts)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _require(data: dict, path: Path, key: str, kind: type | tuple[type, ...]) -> object:
    if key not in data:
        raise ProfileError(path, key, "is missing")
    return _typed(data, path, key, kind)


def _typed(data: dict, path: Path, key: str, kind: type | tuple[type, ...]) -> object:
    value = data[key]
    if not isinstance(value, kind):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ProfileError(path, key, f"must be a {want}, got {type(value).__name__} {value!r}")
    return value


def _url_list(data: dict, path: Path, key: str, required: bool) -> tuple[str, ...]:
    if key not in data:
        if required:
            raise ProfileError(path, key, "is missing")
        return ()
    urls = _typed(data, path, key, list)
    for u in urls:
        if not isinstance(u, str) or urlsplit(u).scheme not in ("http", "https") or not urlsplit(u).netloc:
            raise ProfileError(path, key, f"{u!r} is not an absolute http(s) URL")
    return tuple(urls)


def _regex(data: dict, path: Path, key: str, required: bool) -> re2._Regexp | None:
    """A URL pattern, compiled by RE2: matching takes time linear in the URL whatever the pattern (Python's
    `re` took 74 s per URL on a catastrophically backtracking one). RE2 has no look-arounds or
    backreferences; a pattern using them is a broken profile."""
    if key not in data:
        if required:
            raise ProfileError(path, key, "is missing")
        return None
    pattern = _typed(data, path, key, str)
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        why = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ProfileError(path, key, f"is not a regular expression the linear-time engine (RE2) accepts: {why}; "
                                      "look-arounds and backreferences are not supported") from None


def _bool(data: dict, path: Path, key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ProfileError(path, key, f"must be true or false (no quotes), got {value!r}")
    return value


def _int(data: dict, path: Path, key: str, default: int, minimum: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ProfileError(path, key, f"must be a whole number ≥ {minimum} (no quotes), got {value!r}")
    return value


def _number(data: dict, path: Path, key: str, default: float, minimum: float) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ProfileError(path, key, f"must be a number ≥ {minimum:g} (no quotes), got {value!r}")
    return float(value)


def _politeness(pol: object, path: Path) -> Politeness:
    if not isinstance(pol, dict):
        raise ProfileError(path, "politeness", "must be a table")
    known = {f.name for f in fields(Politeness)}
    unknown = sorted(set(pol) - known)
    if unknown:
        raise ProfileError(path, f"politeness.{unknown[0]}",
                           f"unknown field (a typo?); known: {', '.join(sorted(known))}")

    def check(fn, key, *args):
        try:
            return fn(pol, path, key, *args)
        except ProfileError as exc:
            raise ProfileError(path, f"politeness.{key}", exc.problem) from None

    return Politeness(download_delay=check(_number, "download_delay", 0.5, 0.0),
                      concurrent_requests=check(_int, "concurrent_requests", 4, 1),
                      autothrottle=check(_bool, "autothrottle", True),
                      obey_robots=check(_bool, "obey_robots", True))


def parse_profile(data: dict, path: str | Path) -> PortalProfile:
    """Build a profile from parsed TOML, checking every field; raises ProfileError naming the field."""
    path = Path(path)
    site = _require(data, path, "site", str)
    if not re.fullmatch(r"[a-z0-9_-]+", site):
        raise ProfileError(path, "site", f"{site!r} must be lower-case letters, digits, '-' or '_'")
    hosts = _require(data, path, "hosts", list)
    if not hosts or not all(isinstance(h, str) and h for h in hosts):
        raise ProfileError(path, "hosts", "must be a non-empty list of host names")
    start_urls = _url_list(data, path, "start_urls", required=True)
    if not start_urls:
        raise ProfileError(path, "start_urls", "must list at least one URL")
    tz = data.get("timezone", "Asia/Shanghai")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ProfileError(path, "timezone", f"{tz!r} is not a known IANA time zone") from None
    charset = data.get("charset")
    if charset is not None:
        import codecs

        try:
            codecs.lookup(charset)
        except (LookupError, TypeError):
            raise ProfileError(path, "charset", f"{charset!r} is not a known encoding") from None
    www = data.get("www", "keep")
    if www not in ("keep", "strip", "add"):
        raise ProfileError(path, "www", f"must be 'keep', 'strip' or 'add', got {www!r}")
    selectors = data.get("selectors", {})
    if not isinstance(selectors, dict):
        raise ProfileError(path, "selectors", "must be a table of field = selector")
    for key, sel in selectors.items():
        if key not in SELECTOR_FIELDS:
            raise ProfileError(path, f"selectors.{key}", f"unknown field; known: {', '.join(SELECTOR_FIELDS)}")
        if not isinstance(sel, str) or not sel.strip():
            raise ProfileError(path, f"selectors.{key}", "must be a non-empty CSS or XPath string")
    politeness = _politeness(data.get("politeness", {}), path)
    for key in ("name", "language"):
        if key in data:
            _typed(data, path, key, str)
    health = data.get("health", {})
    if not isinstance(health, dict):
        raise ProfileError(path, "health", "must be a table of threshold = value")
    try:
        health = check_thresholds(health)
    except ThresholdError as exc:
        raise ProfileError(path, f"health.{exc.key}", exc.problem) from None
    known = {"site", "name", "enabled", "hosts", "start_urls", "column_urls", "article_url_pattern",
             "pagination_pattern", "charset", "timezone", "language", "www", "max_pages_per_column",
             "selectors", "politeness", "health"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ProfileError(path, unknown[0], "unknown field (a typo?)")
    return PortalProfile(
        site=site,
        name=str(data.get("name", site)),
        path=str(path),
        hosts=tuple(h.lower() for h in hosts),
        start_urls=start_urls,
        column_urls=_url_list(data, path, "column_urls", required=False),
        article_url_pattern=_regex(data, path, "article_url_pattern", required=True),
        pagination_pattern=_regex(data, path, "pagination_pattern", required=False),
        enabled=_bool(data, path, "enabled", True),
        charset=charset,
        timezone=tz,
        language=str(data.get("language", "zh")),
        www=www,
        max_pages_per_column=_int(data, path, "max_pages_per_column", 50, 1),
        selectors=dict(selectors),
        politeness=politeness,
        health=health,
    )


def load_profile(path: str | Path) -> PortalProfile:
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ProfileError(path, None, f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(path, None, f"is not valid TOML: {exc}") from None
    profile = parse_profile(data, path)
    if profile.site != path.stem:
        raise ProfileError(path, "site", f"{profile.site!r} must match the file name {path.stem!r}")
    return profile


def profile_dirs() -> list[Path]:
    extra = os.environ.get("NEWSCRAWLER_PROFILES")
    dirs = [Path(p) for p in extra.split(os.pathsep) if p] if extra else []
    return dirs + [BUILTIN_DIR]


def load_profiles(dirs: list[Path] | None = None, broken: list[ProfileError] | None = None
                  ) -> dict[str, PortalProfile]:
    """Every profile by site; a file in an earlier directory overrides a built-in one of the same name.
    A broken file raises ProfileError — or, when a `broken` list is given, is added to it and left out, so
    one broken profile does not stop the others (a broken override also hides the built-in it replaces)."""
    profiles: dict[str, PortalProfile] = {}
    errors: dict[str, ProfileError] = {}
    for d in reversed(dirs if dirs is not None else profile_dirs()):
        for path in sorted(Path(d).glob("*.toml")):
            try:
                p = load_profile(path)
            except ProfileError as exc:
                if broken is None:
                    raise
                errors[path.stem] = exc
                profiles.pop(path.stem, None)
                continue
            errors.pop(p.site, None)
            profiles[p.site] = p
    if broken is not None:
        broken.extend(errors.values())
    return profiles


def select_profiles(sites: list[str] | None, dirs: list[Path] | None = None,
                    broken: list[ProfileError] | None = None) -> list[PortalProfile]:
    """The profiles for the named sites, or every enabled one when none is named. With a `broken` list, the
    broken profile files that matter to this selection (a named site's, or any when none is named) are
    added to it and the healthy profiles returned; without one, the first broken file raises."""
    found: list[ProfileError] = []
    profiles = load_profiles(dirs, found if broken is not None else None)
    if sites:
        found = [b for b in found if Path(b.path).stem in sites]
    if broken is not None:
        broken.extend(found)
    if not sites:
        return [p for p in profiles.values() if p.enabled]
    missing = [s for s in sites if s not in profiles and s not in {Path(b.path).stem for b in found}]
    if missing:
        raise ProfileError(
            ", ".join(str(d) for d in (dirs or profile_dirs())), None,
            f"no profile for site(s) {', '.join(missing)}; known: {', '.join(sorted(profiles))}")
    return [profiles[s] for s in sites if s in profiles]


def profile_for_url(url: str, profiles: dict[str, PortalProfile] | None = None) -> PortalProfile | None:
    for p in (profiles or load_profiles()).values():
        if p.owns_url(url):
            return p
    return None
