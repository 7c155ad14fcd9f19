"""Issue 12 item 3: the database dying or stalling mid-crawl is noticed within seconds; the crawl stops
fetching, keeps what is in flight in a spill file and exits 3; the next run loads the spill (clustered) and
fetches the rest. Real crawls in child processes, the embedded server killed (SIGKILL) or stalled (SIGSTOP:
it accepts connections and never answers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pymongo
import pytest
from kit import crawl, last_log, open_store, start

from newscrawler_replay.generate import generate

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

# The store writes batches of BATCH articles here (500 by default): enough articles that the second crawl is
# still mid-way when its first batch is written, however many the first crawl had in flight when its database
# died (~330: the crawl's items waiting for the database when it is slower than fetching and extraction).
BATCH = 50
ARTICLES_PER_SITE = 175


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("rec")
    return base, generate(base, articles_per_site=ARTICLES_PER_SITE)


def stored(data_dir: Path) -> int:
    """Articles stored so far, read straight from the running daemon (no lease taken)."""
    try:
        info = json.loads((data_dir / "db" / "server.json").read_text())
        creds = json.loads((data_dir / "db" / "credentials.json").read_text())
    except (OSError, ValueError):
        return 0
    client = pymongo.MongoClient(info["uri"], username=creds["user"], password=creds["password"],
                                 authSource="admin", serverSelectionTimeoutMS=1000, socketTimeoutMS=1000)
    try:
        return client.newscrawler.articles.estimated_document_count()
    except pymongo.errors.PyMongoError:
        return 0
    finally:
        client.close()


def crawl_and_break(data_dir: Path, rec_dir: Path, at_least: int,
                    how: signal.Signals) -> tuple[subprocess.CompletedProcess, float]:
    """Crawl, and once `at_least` articles are stored send `how` to the database daemon; (result, seconds
    from the fault to the crawl's exit)."""
    proc = start(data_dir, "crawl", "--replay", str(rec_dir), "-s", f"STORE_BATCH_SIZE={BATCH}", embedded=True)
    deadline = time.monotonic() + 120
    while stored(data_dir) < at_least:
        assert proc.poll() is None and time.monotonic() < deadline, "the crawl ended before the fault"
        time.sleep(0.2)
    daemon = json.loads((data_dir / "db" / "server.json").read_text())["pid"]
    os.kill(daemon, how)
    broken = time.monotonic()
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), time.monotonic() - broken


def test_a_database_killed_then_stalled_mid_crawl_stops_the_run_within_seconds_and_loses_nothing(tmp_path, rec):
    rec_dir, manifest = rec
    total = len(manifest["articles"])
    data = tmp_path / "data"

    killed, seconds = crawl_and_break(data, rec_dir, BATCH, signal.SIGKILL)
    assert killed.returncode == 3, killed.stderr[-3000:]
    assert seconds < 20, f"the crawl went on for {seconds:.0f} s after the database died"
    assert "Traceback" not in killed.stderr
    assert "stopping the crawl" in last_log(data) and "the next run loads them" in last_log(data)
    assert killed.stderr.startswith("newscrawler crawl: exit 3: the database failed")  # cron's mail
    [spilled] = (data / "spill").glob("*.jsonl")
    assert spilled.stat().st_mode & 0o777 == 0o600  # article text: the owner's alone
    kept = len(spilled.read_text(encoding="utf-8").splitlines())

    # The next run loads the spill and the run record, then crawls on; this time the server stalls (once
    # the crawl itself has stored some articles).
    with open_store(data, embedded=True) as store:
        before = store.articles.count()
    assert total - before - kept > 2 * BATCH, (before, kept)
    # Once the crawl's first batch is written: mid-crawl.
    stalled, seconds = crawl_and_break(data, rec_dir, before + kept + 1, signal.SIGSTOP)
    assert stalled.returncode == 3, stalled.stderr[-3000:]
    assert "stopping the crawl" in last_log(data) and "Traceback" not in stalled.stderr
    assert seconds < 45, f"the crawl went on for {seconds:.0f} s after the database stalled"
    assert spilled.with_name(spilled.name + ".loaded").exists()

    final = crawl(data, "--replay", str(rec_dir), embedded=True)
    assert final.returncode == 0, final.stderr[-3000:]
    assert not list((data / "spill").glob("*.jsonl")) and not list((data / "spill").glob("*.run.json"))
    with open_store(data, embedded=True) as store:
        urls = [a["url"] for a in manifest["articles"]]
        assert store.articles.count() == total
        assert all(store.articles.find(u) for u in urls)
        assert store.articles.count({"cluster": None}) == 0  # spilled articles were clustered when loaded
        runs = store.runs.recent(3)
    assert [(r["status"], r["exitCode"]) for r in runs] == [("ok", 0), ("failed", 3), ("failed", 3)]
    assert "the database failed" in runs[1]["message"] and runs[2]["spillFile"] == str(spilled)
