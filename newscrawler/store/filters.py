"""What a reader asks the article list for: the filters the console's query parameters, `db find` and `db export`
share. Plain values only; the names people type (a source alias, a day) are resolved before a filter is made."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Days, the per-day stats and the `since`/`until` of every filter are days in the display zone (defined with the
# printing, which must not import the store: pymongo takes ~0.5 s to import).
from newscrawler.display import DISPLAY_ZONE

SCRIPTS = ("Hans", "Hant")


@dataclass(frozen=True)
class ArticleFilter:
    """Every given field must match. `q` is a search (words anywhere in headline or body, either script);
    `source` is an outlet's canonical name; `author` one of the article's authors; `since` inclusive and
    `until` exclusive, timezone-aware."""

    q: str | None = None
    site: str | None = None
    source: str | None = None
    author: str | None = None
    editor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    script: str | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware")
        if self.script is not None and self.script not in SCRIPTS:
            raise ValueError(f"script must be one of {', '.join(SCRIPTS)}")

    @property
    def needs_index(self) -> bool:
        """Whether the search index answers this filter (a search, or a filter on a person, an outlet or a
        script); portal and date filters are answered from the articles and their per-day counters."""
        return bool(self.q or self.source or self.author or self.editor or self.script)


def day_start(day: str) -> datetime:
    """00:00 of a YYYY-MM-DD day in the display zone; ValueError names the bad value."""
    try:
        return datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=DISPLAY_ZONE)
    except ValueError:
        raise ValueError(f"{day!r} is not a date like 2024-03-23") from None


def day_of(moment: datetime) -> str:
    return moment.astimezone(DISPLAY_ZONE).strftime("%Y-%m-%d")
