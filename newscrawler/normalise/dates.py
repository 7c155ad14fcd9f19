"""Dates to aware UTC datetimes, with a trust flag for dates no real article can have.

Only conversion and trust live here: reading dates off a page and choosing the article's dates is
extraction's (newscrawler/extract/dates.py, whose docstring lists where each date rule lives)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from newscrawler.extract.dates import DEFAULT_TIMEZONE

EARLIEST_TRUSTED = datetime(1990, 1, 1, tzinfo=UTC)
# Portal clocks and our own drift a little; an hour ahead is a clock, a day ahead is a wrong date.
FUTURE_SLACK = timedelta(hours=1)


def to_utc(value: str | datetime | None, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> datetime | None:
    """An ISO 8601 string or datetime as an aware UTC datetime. A value without an offset is read in the
    portal's time zone `tz`. Unparseable input gives None (the raw string is kept elsewhere)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip().replace(" ", "T", 1) if "T" not in str(value) else str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))
    return dt.astimezone(UTC)


def is_trusted(dt: datetime | None, now: datetime | None = None) -> bool:
    """False for a missing date, one in the future, or one before 1990."""
    if dt is None:
        return False
    now = now or datetime.now(UTC)
    return EARLIEST_TRUSTED <= dt <= now + FUTURE_SLACK
