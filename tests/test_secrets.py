"""A crawl against a MongoDB that requires a password: the password reaches no log, output or record."""

from __future__ import annotations

import json

import pymongo
import pytest
from kit import free_port, newscrawler, start_daemon, stop_daemon

from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

PASSWORD = "s3cret-Pa55word"


@pytest.fixture
def auth_uri(tmp_path):
    storage, port = tmp_path / "authdb", free_port()
    proc = start_daemon(storage, port)
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/")
    client.admin.command("createUser", "crawler", pwd=PASSWORD, roles=["root"])
    client.close()
    stop_daemon(proc)
    proc = start_daemon(storage, port, "--auth")
    yield f"mongodb://crawler:{PASSWORD}@127.0.0.1:{port}/?authSource=admin"
    stop_daemon(proc)


def test_password_reaches_no_log_output_or_record(tmp_path, auth_uri):
    generate(tmp_path / "rec", articles_per_site=5)
    data = tmp_path / "data"
    with ReplayServer(tmp_path / "rec") as replay:
        result = newscrawler(data, "crawl", "hnr", "--replay", replay.proxy_url, "--log-level", "DEBUG",
                             env={"MONGO_URI": auth_uri})
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
