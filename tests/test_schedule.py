"""The production shape's moving parts, run for real: the URI built from MONGO_HOST/MONGO_USER and a password
file (any character in the password) against a password-protected MongoDB-wire server, and the
`newscrawler schedule` loop running crawls at their time and passing SIGTERM on to the running one."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pymongo
import pytest
from kit import free_port, newscrawler, open_store, start, start_daemon, stop_daemon
from pymongo.uri_parser import parse_uri

from newscrawler import config
from newscrawler.cli.schedule import parse_job
from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

NASTY = "p@ss:w/rd%20?#&+ 密"


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    rec = tmp_path_factory.mktemp("rec")
    generate(rec, articles_per_site=5)
    return rec


def test_user_and_password_are_percent_encoded_into_the_uri(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text(NASTY + "\n")
    uri = config.uri_from_environment({"MONGO_HOST": "mongo:27017", "MONGO_USER": "crawler@x",
                                       "MONGO_PASSWORD_FILE": str(secret), "NEWSCRAWLER_DB": "news"})
    parsed = parse_uri(uri)
    assert (parsed["username"], parsed["password"]) == ("crawler@x", NASTY)
    assert parsed["nodelist"] == [("mongo", 27017)] and parsed["options"]["authSource"] == "news"
    assert config.uri_from_environment({"MONGO_HOST": "h"}) == "mongodb://h/"
    with pytest.raises(config.ConfigError, match="MONGO_PASSWORD_FILE .*/missing cannot be read"):
        config.uri_from_environment({"MONGO_HOST": "h", "MONGO_USER": "u",
                                     "MONGO_PASSWORD_FILE": str(tmp_path / "missing")})
    with pytest.raises(config.ConfigError, match="no password"):
        config.uri_from_environment({"MONGO_HOST": "h", "MONGO_USER": "u"})


@pytest.mark.e2e
def test_a_crawl_connects_as_its_own_user_with_a_password_of_any_characters(tmp_path, recording):
    storage, port = tmp_path / "authdb", free_port()
    proc = start_daemon(storage, port)
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/")
    client.admin.command("createUser", "admin", pwd="root-pw", roles=["root"])
    client.close()
    stop_daemon(proc)
    proc = start_daemon(storage, port, "--auth")
    try:
        admin = pymongo.MongoClient(f"mongodb://admin:root-pw@127.0.0.1:{port}/?authSource=admin")
        # What docker/mongo-init/10-crawler-user.js does.
        admin["news"].command("createUser", "crawler", pwd=NASTY, roles=[{"role": "readWrite", "db": "news"}])
        secret = tmp_path / "crawler_password"
        secret.write_text(NASTY + "\n")
        env = {"MONGO_HOST": f"127.0.0.1:{port}", "MONGO_USER": "crawler", "MONGO_PASSWORD_FILE": str(secret),
               "MONGO_AUTH_SOURCE": "news", "NEWSCRAWLER_DB": "news"}
        with ReplayServer(recording) as replay:
            result = newscrawler(tmp_path / "data", "crawl", "hnr", "--replay", replay.proxy_url, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert admin["news"]["articles"].count_documents({"site": "hnr"}) >= 5
        (run,) = admin["news"]["crawl_runs"].find()
        assert run["status"] == "ok" and "crawler:***@" in run["database"] and NASTY not in str(run)
        wrong = newscrawler(None, "db", "stats", env={**env, "MONGO_PASSWORD_FILE": str(tmp_path / "nope")},
                            timeout=60)
        assert wrong.returncode == 2 and "MONGO_PASSWORD_FILE" in wrong.stderr  # a configuration error
        admin.close()
    finally:
        stop_daemon(proc)


def test_job_specs():
    job = parse_job("02:15 crawl --recheck jzrb")
    assert (job.at.hour, job.at.minute, job.args) == (2, 15, ["crawl", "--recheck", "jzrb"])
    tz = ZoneInfo("Asia/Shanghai")
    assert job.next_after(datetime(2024, 3, 1, 1, 0, tzinfo=tz)) == datetime(2024, 3, 1, 2, 15, tzinfo=tz)
    assert job.next_after(datetime(2024, 3, 1, 2, 15, tzinfo=tz)) == datetime(2024, 3, 2, 2, 15, tzinfo=tz)
    for bad in ("crawl", "25:00 crawl", "2.15 crawl", "02:15", "02:15 schedule"):
        with pytest.raises(ValueError):
            parse_job(bad)


def schedule(data: Path, *jobs: str, tz: str = "UTC") -> subprocess.Popen:
    args = [a for job in jobs for a in ("--job", job)]
    return start(data, "schedule", "--tz", tz, *args)


def soon(seconds: float, tz: str = "UTC") -> str:
    """A time of day `seconds` from now: enough for the loop to start first (a job whose time has passed when
    the loop starts runs the next day, as with cron)."""
    return (datetime.now(ZoneInfo(tz)) + timedelta(seconds=seconds)).strftime("%H:%M:%S")


def wait_for(predicate, timeout: float = 90, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def records(data: Path) -> list[dict]:
    """The run records of the crawls the loop started (on the session's server, as with an external MongoDB)."""
    with open_store(data) as store:
        return store.runs.recent()


@pytest.mark.e2e
def test_the_loop_runs_each_job_at_its_time_and_stops_on_sigterm(tmp_path, recording):
    data = tmp_path / "data"
    log_lines: list[str] = []
    with ReplayServer(recording) as replay:
        loop = schedule(data, f"{soon(8, 'Asia/Shanghai')} crawl hnr --replay {replay.proxy_url}",
                        f"{soon(9, 'Asia/Shanghai')} crawl --recheck hnr --replay {replay.proxy_url}",
                        tz="Asia/Shanghai")
        reader = threading.Thread(target=lambda: log_lines.extend(iter(loop.stdout.readline, "")), daemon=True)
        reader.start()
        try:
            wait_for(lambda: sum("exit 0" in line for line in log_lines) == 2, what="two runs")
        finally:
            loop.send_signal(signal.SIGTERM)
            loop.wait(30)
            reader.join(10)
            err = loop.stderr.read()
    assert loop.returncode == 143, err
    out = "".join(log_lines)
    later, first = records(data)
    assert first["recheck"] is False and later["recheck"] is True and later["startedAt"] >= first["endedAt"]
    lines = out.splitlines()
    assert sum("starting" in line for line in lines) == 2
    assert sum("exit 0 (ok)" in line for line in lines) == 2, out
    assert lines[-1].endswith("schedule: stopped by SIGTERM")
    assert err == ""  # the crawls were quiet: nothing to mail


@pytest.mark.e2e
def test_sigterm_to_the_loop_stops_the_running_crawl_gracefully(tmp_path, recording):
    data = tmp_path / "data"
    stall = r"http://news\.lyd\.com\.cn/.*=stall"
    loop = schedule(data, f"{soon(8)} crawl --replay {recording} --fault {stall}")
    try:
        wait_for(lambda: records(data), what="the crawl to start")
        time.sleep(2)
    finally:
        loop.send_signal(signal.SIGTERM)
        out, err = loop.communicate(timeout=60)
    assert loop.returncode == 143
    assert "exit 143 (stopped by SIGTERM)" in out
    assert "stopped by SIGTERM" in err  # the crawl's own summary, passed through
    (run,) = records(data)
    assert run["status"] == "stopped" and run["closeReason"] == "sigterm" and run["exitCode"] == 143


@pytest.mark.e2e
def test_a_malformed_job_is_a_usage_error():
    done = newscrawler(None, "schedule", "--job", "2am crawl", timeout=60)
    assert done.returncode == 2 and "'2am crawl'" in done.stderr
