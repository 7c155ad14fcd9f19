"""The declared monitors (Spidermon): one PortalMonitor per portal, named by its site, whose test methods are
the checks; a failing `high` monitor means the portal failed outright, any other failing one that it is
degraded. After the monitors, the suite's actions record each portal's state and history in the store, send
the alerts a change of state calls for, and record how the sending went.

To add a check: a `test_…` method on PortalMonitor calling `self.judge(results)` (checks.py has the kind of
function it calls); `@monitors.level.high` makes its failure a failed portal (exit 1) rather than a
degraded one (exit 4).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from spidermon import Action, Monitor, MonitorSuite, monitors
from spidermon import settings as spidermon_settings
from spidermon.contrib.scrapy.runners import SpiderMonitorResult, SpiderMonitorRunner
from spidermon.exceptions import SkipAction

from newscrawler.monitors import checks
from newscrawler.monitors.alerts import Alert, SmtpConfig, post_webhook, redact_url, send_email
from newscrawler.monitors.checks import DEGRADED, FAILED, OK, CheckResult, PortalRun
from newscrawler.monitors.state import Transition, transition
from newscrawler.store import Store, StoreError

logger = logging.getLogger(__name__)
_STATUS = spidermon_settings.MONITOR.STATUS


@dataclass
class HealthRun:
    """Everything the monitors and actions of one run share: the portals judged, and what came of it."""

    run_id: str
    run_started: datetime | None
    schedule: str
    judged: bool
    close_reason: str
    portals: dict[str, PortalRun]
    names: dict[str, str]                       # site → the portal's name
    store: Store | None
    env: dict[str, str]
    remind_every: timedelta = timedelta(hours=24)
    timeout: float = 10.0
    statuses: dict[str, str] = field(default_factory=dict)
    transitions: dict[str, Transition] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    deliveries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)   # site → one per action
    problems: list[str] = field(default_factory=list)
    cpu_seconds: float | None = None   # what judging took (CPU of this process, the actions' waits excluded)

    def broken(self, status: str) -> dict[str, str]:
        """Portals in this status with why, in one line each: a failed portal's failed checks in full (the
        listing: what to fix), a degraded portal's broken checks by name (`db health` has the numbers)."""
        def why(site: str) -> str:
            results = self.portals[site].results
            if status == FAILED:
                return "; ".join(f"{r.check}: {r.message}" for r in results if r.status == FAILED)
            return ", ".join(r.check for r in results if r.broken) + " (see `newscrawler db health`)"

        return {site: why(site) for site, s in sorted(self.statuses.items()) if s == status}

    def problem(self, message: str) -> None:
        logger.error("portal health: %s", message)
        self.problems.append(message)

    def record(self) -> dict[str, Any]:
        """The run record's `health`: per portal its status, every check's result and its numbers."""
        return {
            "schedule": self.schedule, "judged": self.judged,
            "portals": {site: {"status": self.statuses.get(site), "checks": [r.as_dict() for r in p.results],
                               "metrics": p.metrics, "historyRuns": len(p.history)}
                        for site, p in sorted(self.portals.items())},
            "alerts": [{"portal": a.site, "kind": a.kind, "status": a.status, "previous": a.previous,
                        "deliveries": self.deliveries.get(a.site, [])} for a in self.alerts],
            "problems": self.problems,
            "cpuSeconds": self.cpu_seconds,
        }


class PortalMonitor(Monitor):
    """One portal's health in this run (the suite names each instance after its site)."""

    longMessage = False

    @property
    def portal(self) -> PortalRun:
        return self.data.health.portals[self.monitor_name]

    def judge(self, results: list[CheckResult]) -> None:
        results = self.portal.carry_over(results)
        self.portal.results.extend(results)
        broken = [r for r in results if r.broken]
        if broken:
            self.fail("; ".join(f"{r.check}: {r.message}" for r in broken))
        if not results or all(r.status == checks.SKIPPED for r in results):
            self.skipTest("; ".join(r.message for r in results) or "nothing to judge")

    @monitors.name("listing")
    @monitors.level.high
    def test_listing(self):
        """Listing pages fetched and article links on them matching the profile's pattern."""
        self.judge(checks.listing(self.portal))

    @monitors.name("new_articles")
    def test_new_articles(self):
        """New articles against the portal's recent history."""
        self.judge(checks.new_articles(self.portal))

    @monitors.name("coverage")
    def test_field_coverage(self):
        """Headline, date, source, byline and body length against the portal's baseline."""
        self.judge(checks.field_coverage(self.portal))

    @monitors.name("selectors")
    def test_selectors(self):
        """The profile's selectors still match the article pages."""
        self.judge(checks.selectors(self.portal))

    @monitors.name("error_rate")
    def test_error_rate(self):
        """HTTP errors, timeouts, extraction failures and dropped items."""
        self.judge(checks.error_rate(self.portal))

    @monitors.name("schema")
    def test_item_schema(self):
        """A sample of the articles against the article JSON Schema."""
        self.judge(checks.item_schema(self.portal))


def portal_statuses(result) -> dict[str, str]:
    """Each portal's status from the monitors' results: a failed `high` monitor → failed, any other failure
    (or a monitor that raised) → degraded, else ok."""
    statuses: dict[str, str] = {}
    for r in result.monitor_results:
        site = r.monitor.monitor_name
        status = statuses.setdefault(site, OK)
        if r.status == _STATUS.FAILURE and r.monitor.level == spidermon_settings.MONITOR.LEVEL.HIGH:
            statuses[site] = FAILED
        elif r.status in (_STATUS.FAILURE, _STATUS.ERROR) and status != FAILED:
            statuses[site] = DEGRADED
    return statuses


class RecordPortalHealth(Action):
    """Each portal's verdict into its history and state; decides the alerts its change of state calls for."""

    def run_action(self):
        run: HealthRun = self.data.health
        run.statuses = portal_statuses(self.result)
        if not run.judged:
            raise SkipAction(f"the run ended early ({run.close_reason}): its numbers are not judged")
        if run.store is None:
            raise SkipAction("no store")
        now = datetime.now(UTC)
        docs = []
        for site, portal in sorted(run.portals.items()):
            status = run.statuses.get(site, OK)
            broken = [r.as_dict() for r in portal.results if r.broken]
            docs.append({"site": site, "run": run.run_id, "schedule": run.schedule, "at": now, "judged": True,
                         "status": status, "metrics": portal.metrics, "checks": broken})
            try:
                prev = run.store.health.state(site)
                change = transition(prev, status, now, run.remind_every)
                this_run = {"run": run.run_id, "at": now}
                last_good = this_run if status == OK else (prev or {}).get("lastGoodRun")
                run.store.health.save_state(site, {
                    "status": status, "since": change.since, "previous": change.previous, "checks": broken,
                    "profile": portal.profile_path, "name": run.names.get(site, site), "schedule": run.schedule,
                    "lastRun": this_run, "lastGoodRun": last_good})
            except StoreError as exc:
                run.problem(f"{site}: {exc}; its state is unchanged and no alert is sent")
                continue
            run.transitions[site] = change
            if change.alert:
                run.alerts.append(Alert(
                    kind=change.alert, site=site, name=run.names.get(site, site), profile=portal.profile_path,
                    status=status, previous=change.previous if change.alert != "reminder" else status,
                    since=change.since, run=run.run_id, run_started=run.run_started, checks=broken,
                    last_good_run=last_good))
        try:
            run.store.health.record_runs(docs)
        except StoreError as exc:
            run.problem(str(exc))


class SendWebhookAlerts(Action):
    """POST each alert to NEWSCRAWLER_ALERT_WEBHOOK."""

    def run_action(self):
        run: HealthRun = self.data.health
        url = run.env.get("NEWSCRAWLER_ALERT_WEBHOOK", "").strip()
        if not run.alerts:
            raise SkipAction("no change of state to tell")
        if not url:
            raise SkipAction("NEWSCRAWLER_ALERT_WEBHOOK is not set")
        failed = None
        for alert in run.alerts:
            # Once the receiver failed, the rest of this run's alerts are not tried (each could wait out the
            # timeout); they stay pending like the first.
            error = f"not tried: {failed}" if failed else post_webhook(url, alert, run.timeout)
            failed = failed or error
            _delivered(run, alert, "webhook", redact_url(url), error)


class SendEmailAlerts(Action):
    """E-mail each alert to NEWSCRAWLER_ALERT_EMAIL_TO through NEWSCRAWLER_SMTP_HOST."""

    def run_action(self):
        run: HealthRun = self.data.health
        if not run.alerts:
            raise SkipAction("no change of state to tell")
        try:
            config = SmtpConfig.from_env(run.env)
        except ValueError as exc:
            for alert in run.alerts:
                _delivered(run, alert, "email", "", str(exc))
            return
        if config is None:
            raise SkipAction("NEWSCRAWLER_ALERT_EMAIL_TO is not set")
        failed = None
        for alert in run.alerts:
            error = f"not tried: {failed}" if failed else send_email(config, alert, run.timeout)
            failed = failed or error
            _delivered(run, alert, "email", f"{', '.join(config.to)} via {config.where}", error)


def _delivered(run: HealthRun, alert: Alert, action: str, target: str, error: str | None) -> None:
    entry = {"action": action, "target": target, "ok": error is None, "at": datetime.now(UTC)}
    if error:
        entry["error"] = error
        logger.error("alert for %s (%s) not delivered by %s: %s", alert.site, alert.kind, action, error)
    else:
        logger.info("alert for %s (%s) sent by %s to %s", alert.site, alert.kind, action, target)
    run.deliveries.setdefault(alert.site, []).append(entry)


class RecordAlertDeliveries(Action):
    """Each alert's deliveries into its portal's state: delivered by any action (or none configured) ends
    it; delivered by none leaves it pending, to be tried again next run."""

    def run_action(self):
        run: HealthRun = self.data.health
        if not run.alerts:
            raise SkipAction("no alert")
        now = datetime.now(UTC)
        for alert in run.alerts:
            deliveries = run.deliveries.get(alert.site, [])
            if not deliveries:
                logger.warning("portal %s is %s (%s) but no alert action is configured: set "
                               "NEWSCRAWLER_ALERT_WEBHOOK or NEWSCRAWLER_ALERT_EMAIL_TO", alert.site,
                               alert.status, alert.kind)
            delivered = not deliveries or any(d["ok"] for d in deliveries)
            fields = {"lastAlert": {"kind": alert.kind, "at": now, "run": run.run_id, "deliveries": deliveries},
                      "pending": None if delivered else alert.kind}
            if delivered:
                fields["alertedAt"] = now
            try:
                run.store.health.save_state(alert.site, fields)
            except StoreError as exc:
                run.problem(f"{alert.site}: recording the alert: {exc}")


class PortalHealthSuite(MonitorSuite):
    """Per-portal health: one PortalMonitor per portal of the run, then record, alert, record the alerts."""

    portal_monitors: ClassVar[list[type[Monitor]]] = [PortalMonitor]
    monitors_finished_actions: ClassVar[list[type[Action]]] = [
        RecordPortalHealth, SendWebhookAlerts, SendEmailAlerts, RecordAlertDeliveries]

    def __init__(self, portals: Iterable[str] = (), **kwargs: Any):
        monitors_ = [(site, m) for site in portals for m in self.portal_monitors]
        super().__init__(monitors=monitors_, **kwargs)


class QuietMonitorResult(SpiderMonitorResult):
    """Spidermon's report of the monitors at DEBUG, a failed check as a one-line WARNING rather than a
    traceback (cron mails what reaches stderr); a monitor or action that raised keeps its traceback."""

    def write_errors(self):
        for status in self.step.error_statuses:
            for item in self.step.items_for_status(status):
                if status == _STATUS.FAILURE:
                    self.log(f"{item.item.name} FAILED: {item.reason}", level=logging.WARNING)
                else:
                    self.log_error(f"{item.item.name} {status}:\n{item.error}")

    def log(self, msg, level=logging.DEBUG):
        # The per-monitor report is for debugging; the extension logs one line per portal at INFO.
        logging.getLogger("newscrawler.monitors").log(logging.DEBUG if level == logging.INFO else level,
                                                      "[Spidermon] %s", msg)


class HealthMonitorRunner(SpiderMonitorRunner):
    def create_result(self):
        return QuietMonitorResult(self.spider)
