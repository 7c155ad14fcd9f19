"""Portal health end to end: real crawls (`newscrawler crawl`, a child process each) of replay recordings into
a real MongoDB-wire server, alerts to a real HTTP receiver and a real SMTP server (aiosmtpd), all on
127.0.0.1. A healthy history, then a recording in which three portals were redesigned (replay generate
--drift), the same breakage again, then the portals fixed."""

from __future__ import annotations

import email
import json
import subprocess
import threading
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from kit import free_port, newscrawler, open_store, read

from newscrawler.profiles import load_profiles
from newscrawler_replay.generate import generate

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

PROFILES = load_profiles()
DRIFTED = ["jzrb", "dahe", "hnr"]  # hnr's article URLs changed shape too
PER_SITE = 6
SMTP_PASSWORD = "s3cret-Pa55-word"


class Receiver(ThreadingHTTPServer):
    """A webhook receiver: keeps every JSON body POSTed to it."""

    def __init__(self):
        self.posts: list[dict] = []
        super().__init__(("127.0.0.1", 0), _Hook)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/services/T01/B02/secret-token"


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


def smtp_server(inbox: Inbox, **kwargs) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


def crawl(data: Path, recording: Path, env: dict, *sites: str) -> subprocess.CompletedProcess:
    return newscrawler(data, "crawl", *sites, "--replay", str(recording), env=env, timeout=300)


def db(data: Path, *args: str) -> str:
    result = read(data, "db", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """Six nightly runs: three healthy, two with three portals drifted, one with them fixed. For each run:
    its exit status, the webhook bodies and e-mails it caused, its run record and `db health` afterwards."""
    base = tmp_path_factory.mktemp("health")
    recordings = []
    for n in range(1, 7):
        generate(base / f"rec{n}", articles_per_site=PER_SITE, seed=n, drift=DRIFTED if n in (4, 5) else ())
        recordings.append(base / f"rec{n}")
    receiver, inbox = Receiver(), Inbox()
    smtp = smtp_server(inbox)
    env = {"NEWSCRAWLER_ALERT_WEBHOOK": receiver.url, "NEWSCRAWLER_ALERT_EMAIL_TO": "ops@example.org",
           "NEWSCRAWLER_ALERT_EMAIL_FROM": "newscrawler@example.org", "NEWSCRAWLER_SMTP_HOST": "127.0.0.1",
           "NEWSCRAWLER_SMTP_PORT": str(smtp.port), "NEWSCRAWLER_SMTP_TLS": "none"}
    data = base / "data"
    runs = []
    try:
        for recording in recordings:
            posts, mails = len(receiver.posts), len(inbox.messages)
            result = crawl(data, recording, env)
            with open_store(data) as store:
                record = store.runs.last()
            runs.append({"result": result, "record": record, "posts": receiver.posts[posts:],
                         "mails": inbox.messages[mails:], "health": db(data, "health"),
                         "health_json": json.loads(db(data, "health", "--json"))})
    finally:
        smtp.stop()
        receiver.shutdown()
    return runs


def alerted(run: dict) -> dict[str, dict]:
    """Webhook bodies of a run by portal (a portal alerted twice would show as a list too long to compare)."""
    by_portal: dict[str, list] = {}
    for post in run["posts"]:
        by_portal.setdefault(post["json"]["portal"], []).append(post["json"])
    assert all(len(v) == 1 for v in by_portal.values()), by_portal
    return {k: v[0] for k, v in by_portal.items()}


def test_a_healthy_history_raises_no_alert(scenario):
    for run in scenario[:3]:
        assert run["result"].returncode == 0, run["result"].stderr[-2000:]
        assert run["record"]["status"] == "ok" and run["record"]["health"]["judged"]
        assert run["posts"] == [] and run["mails"] == []
    assert "ok" in scenario[2]["health"] and "degraded" not in scenario[2]["health"]


def test_the_drifted_run_raises_one_alert_per_broken_portal_naming_its_checks(scenario):
    run = scenario[3]
    assert run["result"].returncode == 1  # hnr failed outright (exit 1 beats the others' degraded 4)
    record = run["record"]
    assert record["failedPortals"] == ["hnr"] and record["degradedPortals"] == ["dahe", "jzrb"]
    alerts = alerted(run)
    assert set(alerts) == {"jzrb", "dahe", "hnr"}
    for site, body in alerts.items():
        assert body["kind"] == "broken" and body["previous"] == "ok"
        assert body["profile"] == PROFILES[site].path and body["run"] == str(record["_id"])
        assert body["text"].startswith(f"newscrawler: portal {site} ")  # what a Slack-style webhook shows
        assert PROFILES[site].path in body["text"] and str(record["_id"]) in body["text"]
    assert alerts["hnr"]["status"] == "failed"
    assert "listing" in {c["check"] for c in alerts["hnr"]["checks"]}
    assert "matched article_url_pattern" in alerts["hnr"]["text"]
    jzrb = {c["check"]: c for c in alerts["jzrb"]["checks"]}
    assert {"coverage.datePublished", "coverage.source", "coverage.byline"} <= set(jzrb)
    assert jzrb["coverage.datePublished"]["value"] == 0 and jzrb["coverage.datePublished"]["baseline"] == 1
    assert "vs a baseline of 100%" in jzrb["coverage.datePublished"]["message"]
    dahe = {c["check"] for c in alerts["dahe"]["checks"]}
    assert {"selector.headline", "selector.datePublished", "selector.articleBody", "selector.source",
            "selector.editor"} <= dahe
    # The same alerts by e-mail, one per portal.
    subjects = sorted(m["Subject"] for m in run["mails"])
    assert subjects == sorted(f"newscrawler: portal {s} ({PROFILES[s].name}) is {alerts[s]['status']} (was ok)"
                              for s in alerts)
    jzrb_mail = next(m for m in run["mails"] if " jzrb " in m["Subject"])
    assert jzrb_mail["To"] == "ops@example.org"
    assert "coverage.datePublished: datePublished on 0%" in jzrb_mail.get_content()
    assert PROFILES["jzrb"].path in jzrb_mail.get_content()
    # Every check's numbers and baseline are in the run record, per portal.
    checks = {c["check"]: c for c in record["health"]["portals"]["jzrb"]["checks"]}
    assert checks["coverage.datePublished"]["status"] == "degraded" and checks["coverage.headline"]["status"] == "ok"
    assert record["health"]["portals"]["lyd"]["status"] == "ok"
    assert {d["action"] for a in record["health"]["alerts"] for d in a["deliveries"] if d["ok"]} == {"webhook",
                                                                                                     "email"}
    assert "secret-token" not in json.dumps(record["health"], default=str)


def test_a_second_drifted_run_raises_no_new_alert(scenario):
    run = scenario[4]
    assert run["result"].returncode == 1
    assert run["posts"] == [] and run["mails"] == []
    statuses = {p["portal"]: p for p in run["health_json"]["portals"]}
    assert statuses["jzrb"]["status"] == "degraded" and statuses["hnr"]["status"] == "failed"
    # Broken since the first drifted run; last good run is the last healthy one.
    first = {p["portal"]: p for p in scenario[3]["health_json"]["portals"]}
    assert statuses["jzrb"]["since"] == first["jzrb"]["since"] == first["jzrb"]["lastRun"]["at"]
    assert statuses["jzrb"]["lastGoodRun"]["run"] == str(scenario[2]["record"]["_id"])


def test_recovery_raises_one_recovered_alert_per_portal(scenario):
    run = scenario[5]
    assert run["result"].returncode == 0, run["result"].stdout
    alerts = alerted(run)
    assert set(alerts) == {"jzrb", "dahe", "hnr"}
    assert all(a["kind"] == "recovered" and a["status"] == "ok" for a in alerts.values())
    assert alerts["hnr"]["previous"] == "failed" and alerts["jzrb"]["previous"] == "degraded"
    assert len(run["mails"]) == 3 and all("recovered" in m["Subject"] for m in run["mails"])
    assert {p["status"] for p in run["health_json"]["portals"]} == {"ok"}


def test_a_healthy_portal_never_alerts(scenario):
    for run in scenario:
        assert all(p["json"]["portal"] != "lyd" for p in run["posts"])
        assert all(" lyd " not in m["Subject"] for m in run["mails"])


def test_db_health_shows_status_checks_since_and_last_good_run(scenario):
    text = scenario[4]["health"]
    print("\n$ newscrawler db health   # after the second drifted run\n" + text)
    print("$ newscrawler db health   # after the recovery\n" + scenario[5]["health"])
    lines = {line.split()[0]: line for line in text.splitlines() if line and not line.startswith(" ")}
    assert lines["jzrb"].split()[1] == "degraded" and lines["hnr"].split()[1] == "failed"
    assert lines["lyd"].split()[1] == "ok" and lines["dahe"].split()[1] == "degraded"
    last_good = str(scenario[2]["record"]["_id"])
    assert last_good in lines["jzrb"] and last_good in lines["hnr"]
    assert "    coverage.datePublished: datePublished on 0% of" in text
    assert "    listing: no link on its" in text
    assert "    last alert: broken at" in text and "(webhook ok, email ok)" in text


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_failing_alert_action_is_recorded_and_loses_nothing(tmp_path):
    """Webhook down and an SMTP server refusing the login: the crawl stores everything, exits by the health
    verdict (4), records both failures without the password, and the alert goes out on the next run."""
    recordings = [generate(tmp_path / f"rec{n}", articles_per_site=PER_SITE, seed=10 + n, drift=["dahe"])
                  for n in (1, 2)]
    inbox = Inbox()
    refusing = smtp_server(inbox, auth_required=True, auth_require_tls=False,
                           authenticator=lambda *args: AuthResult(success=False, handled=False))
    env = {"NEWSCRAWLER_ALERT_WEBHOOK": f"http://127.0.0.1:{free_port()}/hooks/secret-token",
           "NEWSCRAWLER_ALERT_EMAIL_TO": "ops@example.org", "NEWSCRAWLER_SMTP_HOST": "127.0.0.1",
           "NEWSCRAWLER_SMTP_PORT": str(refusing.port), "NEWSCRAWLER_SMTP_TLS": "none",
           "NEWSCRAWLER_SMTP_USER": "newscrawler", "NEWSCRAWLER_SMTP_PASSWORD": SMTP_PASSWORD}
    data = tmp_path / "data"
    try:
        result = crawl(data, tmp_path / "rec1", env, "dahe")
    finally:
        refusing.stop()
    assert result.returncode == 4, result.stderr[-3000:]  # dahe's selectors match nothing: degraded
    with open_store(data) as store:
        record = store.runs.last()
        stored = store.articles.count()
        state = store.health.state("dahe")
    expected = {a["url"] for a in recordings[0]["articles"] if a["site"] == "dahe"}
    assert stored == len(expected) > 0 and record["articles"]["new"] == stored
    deliveries = record["health"]["alerts"][0]["deliveries"]
    assert [(d["action"], d["ok"]) for d in deliveries] == [("webhook", False), ("email", False)]
    assert "unreachable" in deliveries[0]["error"] and "SMTPAuthenticationError" in deliveries[1]["error"]
    assert state["status"] == "degraded" and state["pending"] == "broken" and "alertedAt" not in state
    log = Path(record["logFile"]).read_text(encoding="utf-8")
    assert "not delivered by webhook" in log and "not delivered by email" in log
    for text in (log, result.stdout, result.stderr, json.dumps(record, default=str), json.dumps(state, default=str)):
        assert SMTP_PASSWORD not in text and "secret-token" not in text

    # Next night the webhook is up: the pending alert goes out once, and is not pending any more.
    receiver = Receiver()
    try:
        result = crawl(data, tmp_path / "rec2", {**env, "NEWSCRAWLER_ALERT_WEBHOOK": receiver.url,
                                                 "NEWSCRAWLER_ALERT_EMAIL_TO": ""}, "dahe")
    finally:
        receiver.shutdown()
    assert result.returncode == 4
    assert [p["json"]["portal"] for p in receiver.posts] == ["dahe"]
    assert receiver.posts[0]["json"]["kind"] == "broken" and receiver.posts[0]["type"].startswith("application/json")
    with open_store(data) as store:
        state = store.health.state("dahe")
    assert state["pending"] is None and state["alertedAt"] is not None


def test_an_import_is_judged_by_the_same_monitors(tmp_path):
    """Saved pages of a redesigned portal, imported: its selectors match nothing, so it is degraded (exit 4);
    imports have no listing pages and no schedule of new articles, so those checks are skipped."""
    from newscrawler_replay.generate import route_file

    manifest = generate(tmp_path / "rec", articles_per_site=PER_SITE, seed=21, drift=["dahe"])
    pages = tmp_path / "pages"
    pages.mkdir()
    lines = []
    for n, a in enumerate(a for a in manifest["articles"] if a["site"] == "dahe"):
        (pages / f"{n}.html").write_bytes((tmp_path / "rec" / "pages" / route_file(a["url"])).read_bytes())
        lines.append(f"{n}.html\t{a['url']}")
    (tmp_path / "urls.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = newscrawler(tmp_path / "data", "import", str(pages), "--url-map", str(tmp_path / "urls.tsv"), timeout=300)
    assert result.returncode == 4, result.stderr[-3000:]
    with open_store(tmp_path / "data") as store:
        record = store.runs.last()
        assert store.articles.count() == len(lines)
        assert store.health.state("dahe")["status"] == "degraded"
    health = record["health"]
    assert health["schedule"] == "import" and set(health["portals"]) == {"dahe"}
    checks = {c["check"]: c["status"] for c in health["portals"]["dahe"]["checks"]}
    assert checks["listing"] == "skipped" and checks["new_articles"] == "skipped"
    assert checks["selector.articleBody"] == "degraded" and record["degradedPortals"] == ["dahe"]
