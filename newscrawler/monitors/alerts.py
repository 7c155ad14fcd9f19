"""Alerts: the message about one portal's change of state, and the two ways it leaves: a JSON POST to a
webhook and an e-mail through SMTP. Targets and credentials come from the environment:

    NEWSCRAWLER_ALERT_WEBHOOK       URL to POST to (a generic JSON body with a `text` field, which Slack-style
                                    incoming webhooks accept as it is)
    NEWSCRAWLER_ALERT_EMAIL_TO      recipients, comma-separated (e-mail is sent only when set)
    NEWSCRAWLER_ALERT_EMAIL_FROM    sender (default newscrawler@<this host>)
    NEWSCRAWLER_SMTP_HOST           default localhost
    NEWSCRAWLER_SMTP_PORT           default 587 (starttls), 465 (ssl), 25 (none)
    NEWSCRAWLER_SMTP_TLS            starttls (default), ssl or none
    NEWSCRAWLER_SMTP_USER / NEWSCRAWLER_SMTP_PASSWORD   log in when a user is set

A delivery that fails returns its reason (never raises, never shows the password or the webhook's path,
which carries a Slack-style webhook's secret).

Spidermon ships e-mail and Slack actions, but they do not fit here (README, "Portal health"): its SMTP
action refuses to work without a user and password, sends through Scrapy's MailSender whose failure is only
logged, never returned; its Slack action needs a bot token rather than an incoming webhook; and both need
spidermon[monitoring] (jinja2, premailer, boto, boto3, slack-sdk, sentry-sdk, scrapinghub).
"""

from __future__ import annotations

import ipaddress
import json
import smtplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlsplit

TLS_MODES = {"starttls": 587, "ssl": 465, "none": 25}


@dataclass
class Alert:
    """One portal's change of state (or a reminder that it is still broken), as the actions send it."""

    kind: str                      # broken, recovered, reminder
    site: str
    name: str
    profile: str | None
    status: str
    previous: str
    since: datetime
    run: str
    run_started: datetime | None
    checks: list[dict[str, Any]] = field(default_factory=list)   # the broken checks of this run
    last_good_run: dict[str, Any] | None = None

    def subject(self) -> str:
        who = f"{self.site} ({self.name})" if self.name and self.name != self.site else self.site
        if self.kind == "recovered":
            return f"newscrawler: portal {who} recovered (was {self.previous})"
        if self.kind == "reminder":
            return f"newscrawler: portal {who} still {self.status} since {_when(self.since)}"
        return f"newscrawler: portal {who} is {self.status} (was {self.previous})"

    def text(self) -> str:
        lines = [self.subject() + "."]
        lines.append(f"profile: {self.profile or '(none: imported pages of a site without a profile)'}")
        lines.append(f"run: {self.run} started {_when(self.run_started)}")
        for c in self.checks:
            lines.append(f"- {c['check']}: {c['message']}")
        if self.kind != "recovered":
            good = self.last_good_run
            lines.append(f"last good run: {good['run']} at {_when(good['at'])}" if good else "last good run: none")
        return "\n".join(lines)

    def payload(self) -> dict[str, Any]:
        """The webhook's JSON body: `text` for chat webhooks, the rest for programs."""
        good = self.last_good_run
        return {"text": self.text(), "kind": self.kind, "portal": self.site, "name": self.name,
                "profile": self.profile, "status": self.status, "previous": self.previous,
                "since": _when(self.since), "run": self.run, "runStarted": _when(self.run_started),
                "checks": self.checks,
                "lastGoodRun": {"run": good["run"], "at": _when(good["at"])} if good else None}


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else "—"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """scheme://host[:port]/… : an incoming webhook's path is its secret."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}/…" if parts.netloc else "(not a URL)"


def post_webhook(url: str, alert: Alert, timeout: float) -> str | None:
    """POST the alert as JSON; None when the receiver answered 2xx, else why not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"NEWSCRAWLER_ALERT_WEBHOOK is not an http(s) URL: {redact_url(url)}"
    body = json.dumps(alert.payload(), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8",
                                              "User-Agent": "newscrawler-alerts"})
    # No proxy can reach this machine's own loopback (and a crawl of the replay points http_proxy at it).
    handlers = [urllib.request.ProxyHandler({})] if _loopback(parts.hostname) else []
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as response:
            response.read()
            return None
    except urllib.error.HTTPError as exc:
        return f"webhook {redact_url(url)} answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", exc)
        return f"webhook {redact_url(url)} unreachable: {why}"


@dataclass(frozen=True)
class SmtpConfig:
    to: tuple[str, ...]
    sender: str
    host: str
    port: int
    tls: str
    user: str | None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpConfig | None:
        """The e-mail settings, or None when no recipient is set; ValueError names a bad variable."""
        to = tuple(a.strip() for a in env.get("NEWSCRAWLER_ALERT_EMAIL_TO", "").split(",") if a.strip())
        if not to:
            return None
        tls = env.get("NEWSCRAWLER_SMTP_TLS", "starttls").strip().lower() or "starttls"
        if tls not in TLS_MODES:
            raise ValueError(f"NEWSCRAWLER_SMTP_TLS must be one of {', '.join(TLS_MODES)}, got {tls!r}")
        port = env.get("NEWSCRAWLER_SMTP_PORT", "").strip()
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise ValueError(f"NEWSCRAWLER_SMTP_PORT must be a port number, got {port!r}")
        return cls(to=to, sender=env.get("NEWSCRAWLER_ALERT_EMAIL_FROM") or f"newscrawler@{socket.getfqdn()}",
                   host=env.get("NEWSCRAWLER_SMTP_HOST") or "localhost",
                   port=int(port) if port else TLS_MODES[tls], tls=tls,
                   user=env.get("NEWSCRAWLER_SMTP_USER") or None, password=env.get("NEWSCRAWLER_SMTP_PASSWORD"))

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def send_email(config: SmtpConfig, alert: Alert, timeout: float) -> str | None:
    """Send the alert by e-mail; None when the server accepted it, else why not (never with the password)."""
    if config.user and config.tls == "none" and not _loopback(config.host):
        return (f"refusing to send the SMTP password unencrypted to {config.where}; set NEWSCRAWLER_SMTP_TLS to "
                f"starttls or ssl")
    message = EmailMessage()
    message["Subject"] = alert.subject()
    message["From"] = config.sender
    message["To"] = ", ".join(config.to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="newscrawler")
    message.set_content(alert.text())
    try:
        context = ssl.create_default_context()
        if config.tls == "ssl":
            client = smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout)
        with client:
            if config.tls == "starttls":
                client.starttls(context=context)
            if config.user:
                client.login(config.user, config.password or "")
            refused = client.send_message(message)
        if refused:
            return f"e-mail via {config.where} refused for {', '.join(refused)}"
        return None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        why = str(exc)
        if config.password:
            why = why.replace(config.password, "***")
        return f"e-mail via {config.where} failed: {type(exc).__name__}: {why}"
