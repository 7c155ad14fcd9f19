"""Issue 12 item 2: the embedded server never bricks the data directory, is never the wrong one, and
never outlives the processes that need it. Real processes and real signals throughout."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pymongo
import pytest
from kit import REPO, crawl, newscrawler, open_store, start

from newscrawler.store import server
from newscrawler_replay.generate import generate

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs Linux /proc")]


def processes(data_dir: Path) -> list[int]:
    """Daemons and supervisors still serving this data directory."""
    storage = (data_dir / "db").resolve()
    found = server._daemons_on(storage)
    for entry in Path("/proc").glob("[0-9]*"):
        cmd = server._cmdline(int(entry.name)) or []
        if str(server.SUPERVISOR) in cmd and str(storage) in cmd and server._alive(int(entry.name)):
            found.append(int(entry.name))
    return found


def gone(data_dir: Path, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not processes(data_dir):
            return True
        time.sleep(0.1)
    return False


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("rec")
    generate(base, articles_per_site=3)
    return base


def test_a_signal_during_start_up_never_bricks_the_data_directory(tmp_path, rec):
    """A new data directory killed while it is being set up (its first start creates the database user);
    then kill points every 0.5 s from 0.5 to 3 s into `crawl` (server start-up, then the crawl), SIGKILL,
    SIGTERM and Ctrl-C in turn, all on that one directory: nothing is left running, and the next run works."""
    data = tmp_path / "data"
    # Fresh interpreters (not forked from the tests' zygote): the kill points are times into a real start-up.
    setup = start(data, "db", "serve", embedded=True, fresh=True, first_start=True, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL)
    time.sleep(2.0)
    setup.kill()
    setup.wait(30)
    assert gone(data), "a server outlived SIGKILL during set-up"
    result = newscrawler(data, "db", "stats", "--json", embedded=True, first_start=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["articles"] == 0
    assert gone(data)
    kinds = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]
    outcomes = []
    for i, at in enumerate([0.5, 1.0, 1.5, 2.0, 2.5, 3.0]):
        sig = kinds[i % 3]
        proc = start(data, "crawl", "hnr", "--replay", str(rec), embedded=True, fresh=True, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
        time.sleep(at)
        proc.send_signal(sig)
        proc.wait(60)
        outcomes.append((at, sig.name, proc.returncode))
        assert gone(data), f"a server outlived {sig.name} at {at} s: {processes(data)}"
    result = crawl(data, "hnr", "--replay", str(rec), embedded=True)
    assert result.returncode == 0, (outcomes, result.stderr[-2000:])
    with open_store(data, embedded=True) as store:
        assert store.articles.count({"site": "hnr"}) >= 3
        records = json.dumps(store.runs.recent(20), default=str)
    assert gone(data)
    # The embedded database's password is in no output, log or record; the run's files are the owner's alone.
    password = json.loads((data / "db" / "credentials.json").read_text())["password"]
    logs = list((data / "logs").glob("*.log"))
    assert password not in result.stdout + result.stderr + records + "".join(p.read_text() for p in logs)
    assert data.stat().st_mode & 0o777 == 0o700 and all(p.stat().st_mode & 0o777 == 0o600 for p in logs)


def test_a_stale_server_json_pointing_at_another_data_directory_is_never_used(tmp_path):
    other = server.ensure_server(tmp_path / "other")
    try:
        client = other.client()
        client.newscrawler.articles.insert_one({"canonicalUrl": "http://example.cn/other.html"})
        client.close()
        mine = tmp_path / "mine" / "db"
        mine.mkdir(parents=True)
        (mine / "server.json").write_text(json.dumps({"uri": other.uri, "pid": other.pid}))
        result = newscrawler(tmp_path / "mine", "db", "stats", "--json", embedded=True)
        assert result.returncode == 0, result.stderr[-2000:]
        assert json.loads(result.stdout)["articles"] == 0
        assert other.uri not in result.stdout
        assert server.find_running(tmp_path / "other") is not None  # the other directory's server is left alone
    finally:
        other.stop()
    assert gone(tmp_path / "other") and gone(tmp_path / "mine")


def daemon(data_dir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    port = server._free_port()
    proc = subprocess.Popen(server._daemon_command() + ["--host", "127.0.0.1", "--port", str(port), "--storage-path",
                                                        str(data_dir / "db"), "--standalone", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"mongodb://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while not server._ping(uri, 300):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    return proc, uri


def test_an_orphan_daemon_is_stopped_and_a_recorded_unsupervised_one_adopted(tmp_path):
    data = tmp_path / "data"
    assert newscrawler(data, "db", "stats", embedded=True).returncode == 0 and gone(data)
    # An orphan nobody recorded (e.g. its starter was killed by an older version): it holds the lock.
    orphan, _ = daemon(data, "--auth")
    result = newscrawler(data, "db", "stats", embedded=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert orphan.wait(30) is not None  # stopped, not waited on forever
    assert gone(data)
    # A recorded daemon that answers but has lost its supervisor: the next command adopts it, and once no
    # command needs it any more, it is stopped.
    adopted, uri = daemon(data, "--auth")
    (data / "db" / "server.json").write_text(json.dumps({"uri": uri, "pid": adopted.pid}))
    result = newscrawler(data, "db", "stats", embedded=True)
    assert result.returncode == 0 and uri in result.stdout, result.stderr[-2000:]
    assert adopted.wait(30) == 0  # SIGTERM: a clean stop
    assert gone(data)


def test_the_server_stops_when_the_last_client_is_gone_however_it_went(tmp_path):
    data = tmp_path / "data"
    serve = start(data, "db", "serve", embedded=True, stderr=None)
    assert serve.stdout.readline().startswith("serving ")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from newscrawler.store.server import ensure_server; "
                               "held = ensure_server(Path(sys.argv[1])); print('ok', flush=True); time.sleep(600)",
                               str(data)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "ok\n"
    serve.terminate()  # the process that started the server leaves; another still uses it
    assert serve.wait(30) == 0
    time.sleep(1.5)
    assert server.find_running(data) is not None
    holder.kill()  # the last client dies without a word
    holder.wait(10)
    assert gone(data, within=10)


def test_an_unauthenticated_client_is_refused_and_files_are_the_owners_alone(tmp_path):
    data = tmp_path / "data"
    embedded = server.ensure_server(data)
    try:
        anonymous = pymongo.MongoClient(embedded.uri, serverSelectionTimeoutMS=3000)
        with pytest.raises(pymongo.errors.OperationFailure, match="requires authentication"):
            anonymous.newscrawler.articles.insert_one({"x": 1})
        with pytest.raises(pymongo.errors.OperationFailure, match="requires authentication"):
            anonymous.newscrawler.articles.find_one()
        anonymous.close()
        wrong = pymongo.MongoClient(embedded.uri, username="newscrawler", password="guess", authSource="admin",
                                    serverSelectionTimeoutMS=3000)
        with pytest.raises(pymongo.errors.OperationFailure, match="authentication failed"):
            wrong.newscrawler.articles.find_one()
        wrong.close()
        assert embedded.password and embedded.password not in embedded.uri and embedded.password not in repr(embedded)
        for path in (data, data / "db"):
            assert path.stat().st_mode & 0o777 == 0o700, path
        for path in (data / "db" / "credentials.json", data / "db" / "server.json", data / "db-server.log"):
            assert path.stat().st_mode & 0o777 == 0o600, path
        assert json.loads((data / "db" / "credentials.json").read_text())["password"] == embedded.password
    finally:
        embedded.stop()
