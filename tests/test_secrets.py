"""A crawl against a MongoDB that requires a password: the password reaches no log, output or record."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import pytest

from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "s3cret-Pa55word"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(storage: Path, port: int, *extra: str) -> subprocess.Popen:
    exe = str(Path(sys.executable).with_name("secantusd-py"))
    proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage),
                             "--standalone", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the authenticated test server did not start")


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def auth_uri(tmp_path):
    storage, port = tmp_path / "authdb", free_port()
    proc = start_daemon(storage, port)
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/")
    client.admin.command("createUser", "crawler", pwd=PASSWORD, roles=["root"])
    client.close()
    stop(proc)
    proc = start_daemon(storage, port, "--auth")
    yield f"mongodb://crawler:{PASSWORD}@127.0.0.1:{port}/?authSource=admin"
    stop(proc)


def test_password_reaches_no_log_output_or_record(tmp_path, auth_uri):
    generate(tmp_path / "rec", articles_per_site=5)
    data = tmp_path / "data"
    env = {**os.environ, "MONGO_URI": auth_uri}
    with ReplayServer(tmp_path / "rec") as replay:
        result = subprocess.run([sys.executable, "-m", "newscrawler", "--data-dir", str(data), "crawl", "hnr",
                                 "--replay", replay.proxy_url, "--log-level", "DEBUG"],
                                capture_output=True, text=True, env=env, cwd=REPO, timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    logs = "".join(p.read_text() for p in (data / "logs").glob("*.log"))
    # The database is named, without its password, in the run's log (stdout is quiet on success off a terminal).
    assert "crawler:***@127.0.0.1" in logs
    client = pymongo.MongoClient(auth_uri)
    runs = list(client.newscrawler.crawl_runs.find())
    articles = list(client.newscrawler.articles.find())
    client.close()
    assert runs and articles
    records = json.dumps(runs + articles, default=str, ensure_ascii=False)
    for text in (result.stdout, result.stderr, logs, records):
        assert PASSWORD not in text
