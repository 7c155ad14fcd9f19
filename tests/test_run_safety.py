"""Months of nightly runs without a human: the run deadline, SIGTERM/SIGINT, SIGKILL (abandoned records),
log pruning and cron-quiet output — real `newscrawler crawl` processes, real signals, the replay served from
127.0.0.1 with faults, a real MongoDB-wire server."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kit import REPO, open_store, read, scrapy_env, start
from kit import newscrawler as run

from newscrawler.cli.common import parse_duration
from newscrawler.store import Store
from newscrawler.store.server import EmbeddedServer, find_running
from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

# Every request to lyd stalls (robots.txt included): the run cannot finish on its own.
STALL_LYD = r"http://news\.lyd\.com\.cn/.*=stall"


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    rec = tmp_path_factory.mktemp("rec")
    manifest = generate(rec, articles_per_site=20)
    return rec, manifest


def expected_urls(manifest) -> set[str]:
    return {a["url"] for a in manifest["articles"]}


def wait_for_log(data: Path, text: str | re.Pattern, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in (data / "logs").glob("crawl-*.log"):
            content = log.read_text(encoding="utf-8", errors="replace")
            if text.search(content) if isinstance(text, re.Pattern) else text in content:
                return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in the run's log")


def server_stops(data: Path, within: float = 30) -> bool:
    """Whether the data directory's embedded server stops by itself (its supervisor stops it once the crawl's
    lease is gone: a moment after the crawl exits; with the suite's three workers on two cores, once more than 15 s)."""
    deadline = time.monotonic() + within
    while find_running(data) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def stored_articles(store: Store) -> list[dict]:
    return list(store.articles.collection.find({}, {"canonicalUrl": 1, "urls": 1, "site": 1}))


def runs(store: Store) -> list[dict]:
    return list(reversed(store.runs.recent(50)))


def stored_count(data: Path) -> int:
    """Articles stored so far on the data directory's embedded server (joined while a crawl runs it)."""
    with open_store(data, embedded=True) as store:
        return store.articles.count()


def assert_complete_once(store: Store, manifest) -> None:
    docs = stored_articles(store)
    canonical = [d["canonicalUrl"] for d in docs]
    assert len(canonical) == len(set(canonical)), "an article was stored twice"
    reached = {u for d in docs for u in d.get("urls", [])} | set(canonical)
    missing = expected_urls(manifest) - reached
    assert not missing, f"{len(missing)} recorded articles never stored, e.g. {sorted(missing)[:3]}"
    assert len(docs) == len(manifest["articles"])


def test_durations():
    assert parse_duration("4h") == 14400 and parse_duration("90m") == 5400 and parse_duration("1h30m") == 5400
    assert parse_duration("600") == 600 and parse_duration("45s") == 45 and parse_duration("0") == 0
    with pytest.raises(ValueError):
        parse_duration("soon")


@pytest.mark.e2e
def test_the_run_ends_at_its_deadline_with_status_5_and_nothing_lost(tmp_path, recording):
    rec, manifest = recording
    data = tmp_path / "data"
    started = time.monotonic()
    result = run(data, "crawl", "--replay", str(rec), "--fault", STALL_LYD, "--max-runtime", "6s")
    took = time.monotonic() - started
    assert result.returncode == 5, result.stderr[-3000:]
    # 6 s of crawl, the embedded server's start and stop, and the stop's grace for the stalled downloads.
    assert took < 35, f"the run took {took:.0f} s with a 6 s deadline"
    assert "stopped at the run deadline" in result.stderr
    with open_store(data) as store:
        (record,) = runs(store)
        assert record["status"] == "stopped" and record["exitCode"] == 5
        assert record["closeReason"] == "closespider_timeout" and record["maxRuntime"] == 6
        # Everything fetched before the deadline was stored: the record's count is what the store holds.
        stored = stored_articles(store)
        assert record["articles"]["new"] == len(stored) > 0
        assert not {d["site"] for d in stored} & {"lyd"}
        assert not list((data / "spill").glob("*.jsonl"))
        # The next night, without the stall: the set is completed, each article once.
        again = run(data, "crawl", "--replay", str(rec))
        assert again.returncode == 0, again.stderr[-3000:]
        assert_complete_once(store, manifest)


def mid_run_crawl(data: Path, rec: Path) -> subprocess.Popen:
    """A crawl caught mid-run: the other portals' articles are in the store pipeline's batch, lyd is stalled.
    Scrapy's log line of pages and items (every 0.5 s here) says when items have gone through the pipelines: on a
    loaded machine the first ones can take seconds (the extraction process starting). The batch is kept until the
    run stops (STORE_MAX_WAIT would write it within 5 s)."""
    proc = start(data, "crawl", "--replay", str(rec), "--fault", STALL_LYD, "-s", "STORE_MAX_WAIT=600",
                 "-s", "LOGSTATS_INTERVAL=0.5", embedded=True)
    wait_for_log(data, "fetch failed: http://news.hnr.cn/")
    wait_for_log(data, re.compile(r"scraped [1-9]\d* items"))
    time.sleep(0.5)
    return proc


@pytest.mark.e2e
def test_sigterm_mid_run_is_graceful_and_a_rerun_completes_the_set_exactly_once(tmp_path, recording):
    rec, manifest = recording
    data = tmp_path / "data"
    proc = mid_run_crawl(data, rec)
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 143, err[-3000:]
    assert time.monotonic() - signalled < 20
    assert "stopped by SIGTERM" in err and "log: " in err
    assert server_stops(data), "the embedded server was left running"
    # One start of the server for the checks; the next run joins it.
    with open_store(data, embedded=True) as store:
        (record,) = runs(store)
        assert record["status"] == "stopped" and record["closeReason"] == "sigterm" and record["exitCode"] == 143
        assert record["failedPortals"] == []  # a stopped run's partial counts fail no portal
        stored = stored_articles(store)
        # The batch was flushed: every article the run counted as scraped is in the store, none spilled.
        assert record["articles"]["new"] == len(stored) > 20
        assert not list((data / "spill").glob("*.jsonl"))
        again = run(data, "crawl", "--replay", str(rec), embedded=True)
        assert again.returncode == 0, again.stderr[-3000:]
        assert_complete_once(store, manifest)


@pytest.mark.e2e
def test_a_second_sigterm_stops_at_once_and_keeps_the_batch_in_a_spill_file(tmp_path, recording):
    rec, manifest = recording
    data = tmp_path / "data"
    proc = mid_run_crawl(data, rec)
    proc.send_signal(signal.SIGTERM)
    wait_for_log(data, "Closing spider (sigterm)")
    proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err[-3000:]
    assert time.monotonic() - signalled < 8
    assert "stopped at once" in err
    assert server_stops(data), "the embedded server was left running"
    with open_store(data, embedded=True) as store:
        (record,) = runs(store)
        assert record["status"] == "stopped" and record["exitCode"] == 143 and "stopped at once" in record["message"]
        spill = Path(record["spillFile"])
        spilled = [json.loads(line) for line in spill.read_text(encoding="utf-8").splitlines()]
        assert spilled and spill.parent == data / "spill"
        # Nothing fetched was lost: what is stored and what was spilled are the articles the run scraped.
        stored = {d["canonicalUrl"] for d in stored_articles(store)}
        assert not stored & {s["canonicalUrl"] for s in spilled}
        assert run(data, "db", "load-spill", str(spill), embedded=True).returncode == 0
        again = run(data, "crawl", "--replay", str(rec), embedded=True)
        assert again.returncode == 0, again.stderr[-3000:]
        assert_complete_once(store, manifest)


@pytest.mark.e2e
def test_sigint_stops_gracefully_with_status_130(tmp_path, recording):
    rec, _ = recording
    data = tmp_path / "data"
    proc = start(data, "crawl", "--replay", str(rec), "--fault", STALL_LYD)
    wait_for_log(data, "fetch failed: http://news.hnr.cn/")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err[-3000:]
    with open_store(data) as store:
        (record,) = runs(store)
        assert record["status"] == "stopped" and record["closeReason"] == "sigint"
        assert record["articles"]["new"] == len(stored_articles(store))


@pytest.mark.e2e
def test_a_run_killed_with_sigkill_is_marked_abandoned_by_the_next_run(tmp_path, recording):
    rec, manifest = recording
    data = tmp_path / "data"
    # Small batches (scrapy crawl takes -s), so the killed run has stored some articles.
    with ReplayServer(rec, faults=[STALL_LYD]) as server:
        env = scrapy_env(data, {"http_proxy": server.proxy_url}, embedded=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "portal", "-s", "STORE_BATCH_SIZE=5", "-s",
             "NEWSCRAWLER_IGNORE_POLITENESS=1", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if (data / "db" / "server.json").exists() and stored_count(data) >= 10:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    # The killed run's lease on the server is gone with it, so the server's supervisor stops the server within
    # seconds (and removes server.json); on a loaded machine it may have done so already. If not, this test stops it.
    try:
        server_info = json.loads((data / "db" / "server.json").read_text())
        orphan = EmbeddedServer(uri=server_info["uri"], pid=server_info["pid"], storage=data / "db", owned=True)
    except FileNotFoundError:
        orphan = None
    try:
        with open_store(data, embedded=True) as store:
            (record,) = runs(store)
            assert record["status"] == "running" and record["pid"] == proc.pid
            killed_stored = len(stored_articles(store))
            result = run(data, "crawl", "--replay", str(rec), embedded=True)
            assert result.returncode == 0, result.stderr[-3000:]
            old, new = runs(store)
            assert old["_id"] == record["_id"] and old["status"] == "abandoned"
            assert f"pid {proc.pid}" in old["message"] and "abandoned" in old["message"]
            assert old["articles"]["new"] == killed_stored
            assert new["status"] == "ok"
            assert_complete_once(store, manifest)
            shown = read(data, "db", "runs", embedded=True)
            assert "abandoned" in shown.stdout
    finally:
        if orphan is not None:
            orphan.stop()


@pytest.mark.e2e
def test_a_run_whose_database_hangs_is_stopped_at_once_after_its_deadline_and_grace(tmp_path, recording):
    """The graceful close cannot end (the database server is frozen with SIGSTOP: every call hangs); the
    watchdog stops the run at deadline + NEWSCRAWLER_STOP_GRACE, and nothing fetched is lost."""
    rec, manifest = recording
    data = tmp_path / "data"
    with ReplayServer(rec) as server:
        env = scrapy_env(data, {"http_proxy": server.proxy_url}, embedded=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "scrapy", "crawl", "portal", "-s", "STORE_BATCH_SIZE=5", "-s",
             "NEWSCRAWLER_MAX_RUNTIME=15", "-s", "NEWSCRAWLER_STOP_GRACE=4",
             # The store's watch would notice the frozen server within 3 s and end the run with 3 (tested in
             # test_faults_store): off here, so the close hangs as it would on a server that still answers pings.
             "-s", "STORE_HEARTBEAT=0", "-s", "NEWSCRAWLER_IGNORE_POLITENESS=1",
             # Nor may a write's own timeout (10 s) end it first: a crawl that froze the server 2 s in would see
             # its batch write fail at 12 s, before the 15 s deadline, and stop with 3.
             "-s", "STORE_SOCKET_TIMEOUT_MS=60000",
             "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
        started = time.monotonic()
        deadline = started + 90
        while time.monotonic() < deadline:
            if (data / "db" / "server.json").exists() and stored_count(data) >= 5:
                break
            time.sleep(0.1)
        db_pid = json.loads((data / "db" / "server.json").read_text())["pid"]
        os.kill(db_pid, signal.SIGSTOP)  # the database hangs: connections stay open, nothing is answered
        try:
            out, err = proc.communicate(timeout=90)
        finally:
            try:
                os.kill(db_pid, signal.SIGCONT)
            except ProcessLookupError:
                pass  # the crawl stopped it (SIGKILL after its SIGTERM went unanswered)
    took = time.monotonic() - started
    assert proc.returncode == 5, err[-3000:]
    assert took < 15 + 4 + 10 + 15, f"{took:.0f} s"  # deadline, grace, the bounded record write, start-up
    assert "stopped at once" in err
    # What the store pipeline held went to the spill file (the batches being deduplicated did not: they are not
    # stored, so the next run fetches them again).
    spills = list((data / "spill").glob("*.jsonl"))
    log = next((data / "logs").glob("crawl-*.log")).read_text(encoding="utf-8")
    assert "run deadline passed and the graceful close did not end" in log
    # The next run: the record left `running` is marked abandoned; the spill goes back; the set is whole, once.
    again = run(data, "crawl", "--replay", str(rec), embedded=True)
    server_log = (data / "db-server.log").read_text(errors="replace")[-2000:]
    assert again.returncode == 0, again.stderr[:3000] + "\n--- db-server.log ---\n" + server_log
    with open_store(data, embedded=True) as store:
        old = runs(store)[0]
        assert old["status"] in ("abandoned", "stopped"), old
        for path in spills:  # loaded by the next run, before it crawled
            assert not path.exists() and path.with_name(path.name + ".loaded").exists()
        assert_complete_once(store, manifest)


def test_a_running_record_of_a_live_process_on_another_data_directory_is_left_alone(store, tmp_path):
    from newscrawler.extensions.run import mark_abandoned

    me = {"pid": os.getpid(), "host": "here", "dataDir": str(tmp_path / "a")}
    live_elsewhere = store.runs.start({"pid": os.getpid(), "host": "here", "dataDir": str(tmp_path / "b"),
                                       "portals": ["jzrb"]})
    dead_elsewhere = store.runs.start({"pid": 2 ** 22 + 7, "host": "here", "dataDir": str(tmp_path / "b"),
                                       "portals": ["jzrb"]})
    other_host = store.runs.start({"pid": 1, "host": "there", "dataDir": "/x", "maxRuntime": 3600})
    marked = {r["_id"] for r in mark_abandoned(store, me)}
    assert marked == {dead_elsewhere}
    assert {r["_id"] for r in store.runs.running()} == {live_elsewhere, other_host}


@pytest.mark.e2e
def test_old_logs_and_loaded_spill_files_are_pruned_when_a_run_starts(tmp_path, recording):
    rec, _ = recording
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "spill").mkdir()
    old = time.time() - 10 * 86400
    files = {name: data / name for name in ("logs/crawl-old.log", "logs/crawl-recent.log", "spill/a.jsonl.loaded",
                                            "spill/b.jsonl.loaded", "spill/c.jsonl")}
    for path in files.values():
        path.write_text("x\n")
    for name in ("logs/crawl-old.log", "spill/a.jsonl.loaded", "spill/c.jsonl"):
        os.utime(files[name], (old, old))
    result = run(data, "crawl", "hnr", "--replay", str(rec), env={"NEWSCRAWLER_LOG_RETENTION_DAYS": "7"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert not files["logs/crawl-old.log"].exists() and not files["spill/a.jsonl.loaded"].exists()
    assert files["logs/crawl-recent.log"].exists() and files["spill/b.jsonl.loaded"].exists()
    # A spill file not yet loaded back holds articles never stored: it is never pruned, it is loaded (its one
    # unreadable line kept aside, named, rather than deleted).
    assert (data / "spill/c.jsonl.rejected").read_text() == "x\n"
    assert len(list((data / "logs").glob("crawl-*.log"))) == 2  # the recent one and this run's


@pytest.mark.e2e
def test_a_successful_run_prints_nothing_when_stdout_is_not_a_terminal(tmp_path, recording):
    rec, _ = recording
    data = tmp_path / "data"
    result = run(data, "crawl", "--replay", str(rec))
    assert result.returncode == 0
    assert result.stdout == "" and result.stderr == ""
    # The log file keeps everything, the Scrapy stats included.
    (log,) = (data / "logs").glob("crawl-*.log")
    text = log.read_text(encoding="utf-8")
    assert "Dumping Scrapy stats" in text and "fetch failed" in text
    assert "internal meta keys" not in text  # no request copies Scrapy's meta (MetaCopyDetectionMiddleware)


@pytest.mark.e2e
def test_a_failed_run_prints_a_short_summary_naming_the_portal_and_the_log(tmp_path, recording):
    rec, _ = recording
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "ghost.toml").write_text(
        'site = "ghost"\nhosts = ["ghost.example"]\nstart_urls = ["http://www.ghost.example/"]\n'
        "article_url_pattern = '/\\d+\\.html$'\n", encoding="utf-8")
    result = run(tmp_path / "data", "crawl", "--replay", str(rec), env={"NEWSCRAWLER_PROFILES": str(profiles)})
    assert result.returncode == 1
    lines = (result.stdout + result.stderr).splitlines()
    assert 3 <= len(lines) <= 20, lines
    assert lines[0].startswith("newscrawler crawl: exit 1: portal(s) failed outright: ghost")
    assert any(line.split()[:2] == ["ghost", "FAILED"] for line in lines)
    (log,) = (tmp_path / "data" / "logs").glob("crawl-*.log")
    assert lines[-1] == f"log: {log}"


def test_reindex_and_spill_loading_wait_for_a_running_crawl(tmp_path, capsys):
    """They rewrite what a crawl writes (counters, the search and band indexes, spilled articles): while a crawl
    holds the data directory, they exit 75 (cron tries again) without touching the store."""
    from newscrawler.cli import main
    from newscrawler.runlock import RunLock

    spilled = tmp_path / "spill" / "run.jsonl"
    spilled.parent.mkdir(parents=True)
    spilled.write_text("{}\n", encoding="utf-8")
    with RunLock(tmp_path):
        assert main(["--data-dir", str(tmp_path), "db", "reindex"]) == 75
        reindex = capsys.readouterr().err
        assert main(["--data-dir", str(tmp_path), "db", "load-spill", str(spilled)]) == 75
        load = capsys.readouterr().err
    assert "already running" in reindex and "`newscrawler db reindex` once it has finished" in reindex
    assert "already running" in load
    assert spilled.exists() and not (tmp_path / "db").exists()


def test_reindex_holds_the_run_lock_while_it_runs_and_lets_go_after(tmp_path, capsys, mongo_uri, monkeypatch):
    from newscrawler.cli import main
    from newscrawler.runlock import RunLock, RunLocked
    from newscrawler.store import Store

    held = []
    real = Store.reindex

    def reindex(store, *args, **kwargs):
        with pytest.raises(RunLocked):
            RunLock(tmp_path).acquire()
        held.append(True)
        return real(store, *args, **kwargs)

    monkeypatch.setattr(Store, "reindex", reindex)
    monkeypatch.setenv("MONGO_URI", mongo_uri)
    monkeypatch.setenv("NEWSCRAWLER_DB", f"test_lock_{os.getpid()}")
    assert main(["--data-dir", str(tmp_path), "db", "reindex"]) == 0, capsys.readouterr().err
    assert held == [True]
    RunLock(tmp_path).acquire().release()
    import pymongo

    with pymongo.MongoClient(mongo_uri) as client:
        client.drop_database(f"test_lock_{os.getpid()}")
