"""A portal's state from one judged run to the next, and when that calls for an alert.

Alerts go out on a change of state only: ok (or no data yet) → degraded / failed, degraded ↔ failed, and
back to ok ("recovered"). A portal that stays broken is reminded once the reminder interval has passed
since its last alert. An alert that no action could deliver stays pending and is tried again next run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from newscrawler.monitors.checks import BROKEN, OK

NO_DATA = "no data"
# A nightly run ends a few minutes earlier or later each night: a reminder due "once a day" must not slip
# to every other night, so it is due after 95% of the interval (22.8 h of 24 h).
REMIND_SLACK = 0.95


@dataclass(frozen=True)
class Transition:
    status: str
    previous: str
    since: datetime
    alert: str | None  # "broken", "recovered", "reminder" or None


def transition(prev: dict[str, Any] | None, status: str, now: datetime, remind_every: timedelta) -> Transition:
    previous = (prev or {}).get("status") or NO_DATA
    since = prev["since"] if prev and previous == status and prev.get("since") else now
    pending = (prev or {}).get("pending")
    if status == OK:
        alert = "recovered" if previous in BROKEN or pending == "recovered" else None
    elif previous != status:
        alert = "broken"
    elif pending:
        alert = pending
    else:
        alerted = (prev or {}).get("alertedAt")
        alert = "reminder" if alerted is None or now - alerted >= remind_every * REMIND_SLACK else None
    return Transition(status, previous, since, alert)
