"""Portal health: thresholds and the profile's [health] table, each check against a history, state changes and
when they alert, the alert transports' error handling, and the extension on a real crawler and store (the
end-to-end scenario with a real HTTP receiver and SMTP server is tests/test_monitors_alerts.py)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from kit import crawl
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newscrawler.extensions.run import EXIT_OK, EXIT_PORTAL_DEGRADED, EXIT_PORTAL_FAILED, exit_status
from newscrawler.extensions.store import StoreExtension
from newscrawler.monitors import checks
from newscrawler.monitors.alerts import Alert, SmtpConfig, post_webhook, redact_url, send_email
from newscrawler.monitors.checks import PortalRun
from newscrawler.monitors.extension import PortalHealth
from newscrawler.monitors.metrics import portal_metrics
from newscrawler.monitors.state import transition
from newscrawler.monitors.thresholds import ThresholdError, Thresholds
from newscrawler.monitors.thresholds import check as check_thresholds
from newscrawler.profiles import ProfileError, load_profile, load_profiles
from newscrawler.schema import Article

T = Thresholds.default()
NOW = datetime(2026, 11, 27, 2, 15, tzinfo=UTC)
DAY = timedelta(hours=24)


def metrics(**kw) -> dict:
    """One portal's numbers as portal_metrics makes them: a healthy run of 20 articles unless told otherwise."""
    m = {"listingRequests": 3, "listingPages": 3, "listingFailures": 0, "articleLinks": 40, "articlePages": 20,
         "new": 20, "updated": 0, "unchanged": 0, "articles": 20,
         "coverage": {"headline": 1.0, "datePublished": 1.0, "source": 0.9, "byline": 0.8}, "bodyChars": 600,
         "extracted": 20, "selectors": {"articleBody": 1.0, "datePublished": 1.0}, "attempts": 20, "failures": 0,
         "errorRate": 0.0, "fetchErrors": {}, "dropped": {}, "itemErrors": 0, "schemaChecked": 20, "schemaErrors": {}}
    m.update(kw)
    return m


def portal(m: dict, history: list[dict] = (), **kw) -> PortalRun:
    kw.setdefault("selectors", {"articleBody": "div#text", "datePublished": "p.time"})
    return PortalRun(site="demo", metrics=m, thresholds=kw.pop("thresholds", T), history=list(history),
                     profile_path="/etc/portals/demo.toml", **kw)


def by_check(results) -> dict:
    return {r.check: r for r in results}


# -- thresholds and the profile's [health] table --------------------------------------------------------------

def test_settings_hold_the_default_thresholds_and_overrides_merge_field_by_field():
    t = T.merged({"history_runs": 5, "min_coverage": {"source": 0.4}})
    assert t.history_runs == 5 and T.history_runs == 7
    assert t.min_coverage == {"headline": 0.9, "datePublished": 0.5, "source": 0.4}


@pytest.mark.parametrize("values, key", [
    ({"history_run": 5}, "history_run"),
    ({"history_runs": 0}, "history_runs"),
    ({"max_error_rate": 1.5}, "max_error_rate"),
    ({"coverage_drop": "0.3"}, "coverage_drop"),
    ({"min_articles": 2.5}, "min_articles"),
    ({"min_coverage": {"sauce": 0.5}}, "min_coverage.sauce"),
    ({"min_coverage": 0.5}, "min_coverage"),
])
def test_a_bad_threshold_is_named(values, key):
    with pytest.raises(ThresholdError) as err:
        check_thresholds(values)
    assert err.value.key == key


PROFILE = """
site = "demo"
hosts = ["example.cn"]
start_urls = ["http://www.example.cn/"]
article_url_pattern = '^http://www\\\\.example\\\\.cn/\\\\d+\\\\.html$'
"""


def test_a_profile_health_table_is_read_and_checked(tmp_path):
    path = tmp_path / "demo.toml"
    path.write_text(PROFILE + "[health]\nmin_history_runs = 2\nmin_coverage = { source = 0.5 }\n", encoding="utf-8")
    assert load_profile(path).health == {"min_history_runs": 2, "min_coverage": {"source": 0.5}}
    path.write_text(PROFILE + "[health]\nmin_coverage = { source = 'half' }\n", encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert err.value.field == "health.min_coverage.source"
    assert str(path) in str(err.value) and "'half'" in str(err.value)


@pytest.mark.e2e
def test_crawl_refuses_a_malformed_threshold_naming_file_and_field(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "demo.toml").write_text(PROFILE + "[health]\nmax_error_rate = 20\n", encoding="utf-8")
    result = crawl(tmp_path / "data", "demo", env={"NEWSCRAWLER_PROFILES": str(profiles)}, timeout=120)
    assert result.returncode == 2
    assert f"{profiles / 'demo.toml'}: field 'health.max_error_rate'" in result.stderr
    assert "from 0 to 1" in result.stderr
    assert not (tmp_path / "data" / "db").exists()  # refused before anything was opened


# -- the checks ------------------------------------------------------------------------------------------------

HEALTHY = [metrics(new=n) for n in (18, 22, 20, 25, 19)]


def test_listing_fails_when_no_page_came_or_no_link_matched():
    assert checks.listing(portal(metrics()))[0].status == "ok"
    nothing = checks.listing(portal(metrics(listingPages=0, listingFailures=3, articleLinks=0)))[0]
    assert nothing.status == "failed" and "none of its 3 listing page(s) could be fetched" in nothing.message
    no_match = checks.listing(portal(metrics(articleLinks=0)))[0]
    assert no_match.status == "failed"
    assert "article_url_pattern of /etc/portals/demo.toml" in no_match.message
    assert checks.listing(portal(metrics(listingRequests=0, listingPages=0)))[0].status == "skipped"


def test_new_articles_against_the_median_of_its_history():
    ok = checks.new_articles(portal(metrics(new=15), HEALTHY))[0]
    assert ok.status == "ok" and ok.baseline == 20
    drop = checks.new_articles(portal(metrics(new=3), HEALTHY))[0]
    assert drop.status == "degraded" and drop.value == 3 and drop.baseline == 20 and drop.limit == 5
    assert "median of 20 over its last 5 healthy runs" in drop.message
    zero = checks.new_articles(portal(metrics(new=0), HEALTHY))[0]
    assert zero.status == "degraded"
    # A quiet portal (median below min_new_baseline) is not judged on a drop.
    quiet = [metrics(new=n) for n in (2, 1, 3)]
    assert checks.new_articles(portal(metrics(new=0), quiet))[0].status == "ok"
    assert checks.new_articles(portal(metrics(new=0), HEALTHY, mode="import"))[0].status == "skipped"


def test_a_portal_with_a_single_run_of_history_is_judged_by_absolute_floors_only():
    one = [metrics(new=30)]
    result = checks.new_articles(portal(metrics(new=0), one))[0]
    assert result.status == "ok" and result.baseline is None
    assert "1 healthy run(s) of history, fewer than min_history_runs = 3: absolute floors only" in result.message
    floor = T.merged({"min_new_articles": 1})
    assert checks.new_articles(portal(metrics(new=0), one, thresholds=floor))[0].status == "degraded"
    cov = by_check(checks.field_coverage(portal(metrics(coverage={"headline": 1.0, "datePublished": 0.2,
                                                                  "source": 0.0, "byline": 0.0}), one)))
    # Absolute floors: datePublished ≥ 50 %, headline ≥ 90 %; source and byline have none.
    assert cov["coverage.datePublished"].status == "degraded" and cov["coverage.datePublished"].limit == 0.5
    assert cov["coverage.source"].status == "ok" and cov["coverage.byline"].status == "ok"


def test_field_coverage_against_the_portals_own_baseline():
    drifted = metrics(coverage={"headline": 1.0, "datePublished": 0.0, "source": 0.05, "byline": 0.7}, bodyChars=250)
    results = by_check(checks.field_coverage(portal(drifted, HEALTHY)))
    assert results["coverage.datePublished"].status == "degraded"
    assert (results["coverage.datePublished"].value, results["coverage.datePublished"].baseline) == (0.0, 1.0)
    assert "0% of 20 articles vs a baseline of 100% (degraded below 70%)" in results["coverage.datePublished"].message
    assert results["coverage.source"].status == "degraded"
    assert results["coverage.byline"].status == "ok"  # 70 % vs 80 %: within the allowed drop
    assert results["coverage.articleBody"].status == "degraded" and results["coverage.articleBody"].limit == 300
    few = checks.field_coverage(portal(metrics(articles=3), HEALTHY))
    assert [r.status for r in few] == ["skipped"]


def test_a_check_this_run_cannot_judge_keeps_its_last_verdict():
    """A broken portal whose next run brings too few articles (a quiet night) has not recovered."""
    last = {"check": "coverage.datePublished", "status": "degraded", "value": 0.0, "baseline": 1.0, "limit": 0.7,
            "message": "datePublished on 0% of 20 articles vs a baseline of 100% (degraded below 70%)"}
    run = portal(metrics(articles=2), HEALTHY, carried={"coverage.datePublished": last})
    results = run.carry_over(checks.field_coverage(run))
    assert [(r.check, r.status, r.value) for r in results] == [("coverage.datePublished", "degraded", 0.0)]
    assert results[0].message == ("not judged in this run (2 article(s) stored, fewer than min_articles = 5: coverage "
                                  "not judged); as last judged: " + last["message"])
    again = portal(metrics(articles=1), HEALTHY, carried={"coverage.datePublished": results[0].as_dict()})
    assert again.carry_over(checks.field_coverage(again))[0].message.count("as last judged") == 1
    # Judged again with enough articles: the new verdict, whatever it is.
    fixed = portal(metrics(), HEALTHY, carried={"coverage.datePublished": last})
    assert all(r.status == "ok" for r in fixed.carry_over(checks.field_coverage(fixed)))


def test_a_selector_that_matches_nothing_on_most_pages():
    drifted = metrics(selectors={"datePublished": 1.0})
    results = by_check(checks.selectors(portal(drifted, HEALTHY)))
    assert results["selector.articleBody"].status == "degraded"
    assert "selector articleBody = 'div#text' matched on 0% of 20 article pages vs a baseline of 100%" in \
        results["selector.articleBody"].message
    assert results["selector.datePublished"].status == "ok"
    # No history: the absolute rule, except for a continuation link, which is on few pages by nature.
    first = by_check(checks.selectors(portal(metrics(selectors={}), (), selectors={"nextPage": "a.next"},
                                             selector_kinds={"nextPage": "url"})))
    assert first["selector.nextPage"].status == "ok"
    # A selector that never matched often (an optional field) is not a break.
    rare = [metrics(selectors={"articleBody": 1.0, "datePublished": 0.1})] * 3
    assert by_check(checks.selectors(portal(metrics(selectors={"articleBody": 1.0}), rare)))[
        "selector.datePublished"].status == "ok"


def test_error_rate_names_what_failed():
    bad = metrics(attempts=30, failures=12, errorRate=0.4, fetchErrors={"HTTP 404": 3, "timeout": 2, "extraction": 1},
                  dropped={"no_body": 6})
    result = checks.error_rate(portal(bad, HEALTHY))[0]
    assert result.status == "degraded" and result.value == 0.4 and result.limit == 0.2
    assert "12 of 30 article page(s) failed (40% vs a baseline of 0%): HTTP 404 ×3, extraction ×1, timeout ×2, " \
           "dropped no_body ×6" in result.message
    # A portal that always loses some pages is judged against its own rate.
    lossy = [metrics(errorRate=0.35, attempts=20)] * 3
    assert checks.error_rate(portal(bad, lossy))[0].status == "ok"


# -- state changes and when they alert -------------------------------------------------------------------------

def test_alerts_go_out_on_a_change_of_state_only():
    first = transition(None, "ok", NOW, DAY)
    assert first.alert is None and first.previous == "no data"
    broke = transition({"status": "ok", "since": NOW - DAY}, "degraded", NOW, DAY)
    assert broke.alert == "broken" and broke.since == NOW and broke.previous == "ok"
    new_and_broken = transition(None, "failed", NOW, DAY)
    assert new_and_broken.alert == "broken"
    state = {"status": "degraded", "since": NOW, "alertedAt": NOW}
    assert transition(state, "degraded", NOW + timedelta(hours=6), DAY).alert is None
    assert transition(state, "degraded", NOW + timedelta(hours=6), DAY).since == NOW
    worse = transition(state, "failed", NOW + timedelta(hours=6), DAY)
    assert worse.alert == "broken" and worse.previous == "degraded"
    recovered = transition(state, "ok", NOW + timedelta(hours=6), DAY)
    assert recovered.alert == "recovered" and recovered.previous == "degraded"


def test_a_portal_that_stays_broken_is_reminded_once_a_day():
    state = {"status": "failed", "since": NOW, "alertedAt": NOW}
    # A nightly run ends a little earlier the next night: still reminded.
    assert transition(state, "failed", NOW + timedelta(hours=23, minutes=50), DAY).alert == "reminder"
    assert transition(state, "failed", NOW + timedelta(hours=12), DAY).alert is None


def test_an_alert_no_action_delivered_is_tried_again():
    state = {"status": "degraded", "since": NOW, "alertedAt": None, "pending": "broken"}
    assert transition(state, "degraded", NOW + timedelta(hours=1), DAY).alert == "broken"
    unsent_recovery = {"status": "ok", "since": NOW, "alertedAt": NOW - DAY, "pending": "recovered"}
    assert transition(unsent_recovery, "ok", NOW + timedelta(hours=1), DAY).alert == "recovered"


# -- the alert and its transports ------------------------------------------------------------------------------

def alert() -> Alert:
    return Alert(kind="broken", site="demo", name="示例网", profile="/etc/portals/demo.toml", status="degraded",
                 previous="ok", since=NOW, run="6566aa", run_started=NOW - timedelta(minutes=5),
                 checks=[{"check": "coverage.source", "message": "source on 0% of 20 articles vs a baseline of 90%"}],
                 last_good_run={"run": "6565ff", "at": NOW - DAY})


def test_the_message_names_portal_profile_checks_and_run():
    text = alert().text()
    assert "demo (示例网) is degraded (was ok)" in text
    assert "profile: /etc/portals/demo.toml" in text and "run: 6566aa" in text
    assert "- coverage.source: source on 0% of 20 articles vs a baseline of 90%" in text
    assert "last good run: 6565ff" in text
    body = alert().payload()
    assert body["text"] == text and body["portal"] == "demo" and body["checks"][0]["check"] == "coverage.source"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_webhook_is_reported_without_its_secret_path():
    url = f"http://127.0.0.1:{free_port()}/services/T000/B000/SECRETTOKEN"
    error = post_webhook(url, alert(), timeout=3)
    assert error and "unreachable" in error and "SECRETTOKEN" not in error
    assert redact_url(url) == f"http://127.0.0.1:{url.split(':')[2].split('/')[0]}/…"


def test_smtp_settings_come_from_the_environment_and_are_checked():
    assert SmtpConfig.from_env({}) is None
    config = SmtpConfig.from_env({"NEWSCRAWLER_ALERT_EMAIL_TO": "a@x.org, b@x.org", "NEWSCRAWLER_SMTP_TLS": "ssl",
                                  "NEWSCRAWLER_SMTP_USER": "u", "NEWSCRAWLER_SMTP_PASSWORD": "pw-123"})
    assert config.to == ("a@x.org", "b@x.org") and config.port == 465 and config.host == "localhost"
    assert "pw-123" not in repr(config)
    with pytest.raises(ValueError, match="NEWSCRAWLER_SMTP_TLS"):
        SmtpConfig.from_env({"NEWSCRAWLER_ALERT_EMAIL_TO": "a@x.org", "NEWSCRAWLER_SMTP_TLS": "maybe"})
    with pytest.raises(ValueError, match="NEWSCRAWLER_SMTP_PORT"):
        SmtpConfig.from_env({"NEWSCRAWLER_ALERT_EMAIL_TO": "a@x.org", "NEWSCRAWLER_SMTP_PORT": "smtp"})


def test_the_smtp_password_is_never_sent_in_the_clear_to_another_host():
    config = SmtpConfig(to=("a@x.org",), sender="n@x.org", host="mail.example.org", port=25, tls="none", user="u",
                        password="pw-123")
    error = send_email(config, alert(), timeout=3)
    assert "refusing to send the SMTP password unencrypted" in error and "pw-123" not in error


def test_a_refused_connection_is_reported():
    config = SmtpConfig(to=("a@x.org",), sender="n@x.org", host="127.0.0.1", port=free_port(), tls="none",
                        user=None)
    error = send_email(config, alert(), timeout=3)
    assert error.startswith(f"e-mail via 127.0.0.1:{config.port} failed: ConnectionRefusedError")


# -- the extension on a real crawler and store -----------------------------------------------------------------

class _Spider:
    name = "portal"

    def __init__(self, profiles):
        self.profiles = profiles


def _article(site: str, n: int, **kw) -> Article:
    values = {"url": f"http://news.example.cn/{n}.html", "headline": f"标题{n}", "articleBody": "正文" * 200,
              "site": site, "datePublished": NOW, "source": "新华社", "authors": ["记者"],
              "selectorsMatched": ["articleBody"], "canonicalUrl": f"http://news.example.cn/{n}.html"}
    values.update(kw)
    return Article(**values)


def _health(store):
    """A real crawler whose StoreExtension opens the test database, and its PortalHealth extension."""
    crawler = get_crawler(settings_dict={
        "MONGO_URI": store.uri, "MONGO_DATABASE": store.db.name, "NEWSCRAWLER_RUN": True,
        "EXTENSIONS": {"newscrawler.extensions.store.StoreExtension": 0,
                       "newscrawler.monitors.extension.PortalHealth": 50}})
    crawler.stats.open_spider()
    return crawler, crawler.get_extension(PortalHealth)


def _feed(health: PortalHealth, crawler, site: str, n: int, **kw) -> None:
    for i in range(n):
        health.item_scraped(_article(site, i, **kw))
    crawler.stats.set_value(f"portal/{site}/listing_requests", 2)
    crawler.stats.set_value(f"portal/{site}/listing_pages", 2)
    crawler.stats.set_value(f"portal/{site}/article_links", n)
    crawler.stats.set_value(f"portal/{site}/articles_new", n)


def test_the_extension_counts_items_and_judges_each_portal(store):
    profiles = {p: load_profiles()[p] for p in ("hnr", "lyd")}
    crawler, health = _health(store)
    _feed(health, crawler, "hnr", 20)
    health.item_dropped(_article("hnr", 99, articleBody="", selectorsMatched=[]), DropItem("no_body: http://x"))
    health.fetch_failed(kind="article", reason="HTTP 404", site="hnr", status=404)
    health.fetch_failed(kind="article", reason="TimeoutError: took longer than 30.0 seconds", site="hnr")
    m = portal_metrics("hnr", crawler.stats.get_stats(), health.counters["hnr"])
    assert m["articles"] == 20 and m["extracted"] == 21 and m["attempts"] == 23 and m["failures"] == 3
    assert m["fetchErrors"] == {"HTTP 404": 1, "timeout": 1} and m["dropped"] == {"no_body": 1}
    assert m["selectors"] == {"articleBody": round(20 / 21, 4)} and m["coverage"]["byline"] == 1.0
    assert m["schemaChecked"] == T.schema_sample == 20 and m["schemaErrors"] == {}
    # An article whose fields do not have the schema's types (a bug upstream) is caught by the sample.
    _feed(health, crawler, "lyd", 6, authors="记者")
    assert health.counters["lyd"].schema_errors == {"authors": "Invalid array"}  # Spidermon's wording

    run = health.evaluate(_Spider(profiles), "finished")
    assert run.statuses == {"hnr": "ok", "lyd": "degraded"} and run.judged
    assert [r.check for r in run.portals["lyd"].results if r.broken] == ["schema"]
    assert health.evaluate(_Spider(profiles), "finished") is run  # judged once
    state = store.health.state("hnr")
    assert state["status"] == "ok" and state["profile"] == profiles["hnr"].path
    assert store.health.history("hnr", "crawl", 7)[0]["articles"] == 20
    crawler.get_extension(StoreExtension).close()


def test_a_run_that_ended_early_is_recorded_but_not_judged(store):
    """Interrupted half-way: its numbers are partial, so no state changes, no alert, no history."""
    profiles = {"hnr": load_profiles()["hnr"]}
    crawler, health = _health(store)
    _feed(health, crawler, "hnr", 2)
    crawler.stats.set_value("portal/hnr/article_links", 0)
    run = health.evaluate(_Spider(profiles), "shutdown")
    assert not run.judged and run.statuses == {"hnr": "failed"}
    assert store.health.state("hnr") is None and store.health.history("hnr", "crawl", 7) == []
    assert run.record()["judged"] is False and run.alerts == []
    code, message = exit_status({"articles/new": 2}, {}, "shutdown", {})
    assert code == EXIT_PORTAL_FAILED and "ended early: shutdown" in message
    crawler.get_extension(StoreExtension).close()


def test_exit_status_puts_a_failed_portal_before_a_degraded_one():
    stats = {"articles/new": 10}
    assert exit_status(stats, {}, "finished", {}) == (EXIT_OK, "ok")
    code, message = exit_status(stats, {}, "finished", {"jzrb": "coverage.source: …"})
    assert code == EXIT_PORTAL_DEGRADED and "jzrb" in message
    assert exit_status(stats, {"hnr": "listing: …"}, "finished", {"jzrb": "…"})[0] == EXIT_PORTAL_FAILED
    assert exit_status({"store/errors": 1}, {}, "store_failed", {"jzrb": "…"})[0] == 3
