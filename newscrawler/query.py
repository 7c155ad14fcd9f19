"""What a person typed (a `db find`/`db export` option, a console query parameter) as an ArticleFilter: a
portal checked against the known ones, an outlet by any of its names (央視網 / CCTV / 央视 → 央视网), days
read in the display zone. Bad input raises QueryError naming the parameter and the value."""

from __future__ import annotations

from collections.abc import Iterable

from newscrawler.store.filters import SCRIPTS, ArticleFilter, day_start

# The console's query parameters and the options of `db find`/`db export` that make a filter.
FILTER_PARAMS = ("q", "site", "source", "author", "editor", "since", "until", "script")


class QueryError(ValueError):
    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param


def known_sites(store_sites: Iterable[str] = ()) -> list[str]:
    """The portals with a profile, plus any the store has articles of."""
    from newscrawler.profiles import load_profiles

    return sorted(set(load_profiles()) | set(store_sites))


def make_filter(*, q: str | None = None, site: str | None = None, source: str | None = None,
                author: str | None = None, editor: str | None = None, since: str | None = None,
                until: str | None = None, script: str | None = None,
                sites: Iterable[str] | None = None) -> ArticleFilter:
    """`since` (on or after) and `until` (before) are YYYY-MM-DD days in the display zone.
    `sites`: the known portal names (an unknown `site` is an error); None skips that check."""
    site = _clean(site)
    if site is not None and sites is not None and site not in set(sites):
        raise QueryError("site", f"unknown site {site!r} (known: {', '.join(sorted(sites)) or 'none'})")
    source = _text(source)
    if source is not None:
        # Imported here: the outlet table and its script tables take ~0.2 s to load, and most lists never ask.
        from newscrawler.normalise.sources import canonical_source

        source = canonical_source(source) or source
    script = _clean(script)
    if script is not None:
        matches = [s for s in SCRIPTS if s.lower() == script.lower()]
        if not matches:
            raise QueryError("script", f"{script!r} is not one of {', '.join(SCRIPTS)}")
        script = matches[0]
    since_at, until_at = _day(since, "since"), _day(until, "until")
    if since_at and until_at and until_at <= since_at:
        raise QueryError("until", f"{until} is not after {since}")
    return ArticleFilter(q=_clean(q), site=site, source=source, author=_text(author), editor=_text(editor),
                         since=since_at, until=until_at, script=script)


def _day(value: str | None, param: str):
    value = _clean(value)
    if value is None:
        return None
    try:
        return day_start(value)
    except ValueError as exc:
        raise QueryError(param, str(exc)) from None


def _clean(value: str | None) -> str | None:
    return " ".join(value.split()) or None if value else None


def _text(value: str | None) -> str | None:
    """A name as the normaliser stores one-line fields: folded (full-width letters and digits, no-break spaces),
    one line, spaces collapsed. Imported when used: newscrawler.normalise.text loads the extractor (~0.2 s)."""
    if not _clean(value):
        return None
    from newscrawler.normalise.text import normalise_inline

    return normalise_inline(value)
