"""How times and other values are printed for people (the CLI and the console), always with their zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

# Days, the per-day stats and the `since`/`until` of every filter are days in this zone: where the shipped
# portals publish. Every time the CLI and the console print says which zone it is in.
DISPLAY_ZONE = ZoneInfo("Asia/Shanghai")
ZONE_NOTE = "times in Asia/Shanghai (UTC+08:00)"


def when(value: object, *, seconds: bool = False, zone: ZoneInfo = DISPLAY_ZONE) -> str:
    """`2024-03-23 20:21 +08:00` (the offset is part of every printed time); `—` for no time."""
    if not isinstance(value, datetime):
        return "—"
    local = value.astimezone(zone)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + f" {offset[:3]}:{offset[3:]}"


def when_in(value: object, zone_name: str | None) -> str:
    """A time in a named zone, labelled: `2024-03-23 20:21:02 +08:00 (Asia/Shanghai)`."""
    zone = ZoneInfo(zone_name) if zone_name else DISPLAY_ZONE
    if not isinstance(value, datetime):
        return "—"
    return f"{when(value, seconds=True, zone=zone)} ({zone.key})"
