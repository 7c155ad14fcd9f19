"""`newscrawler db serve` keeps the embedded server up; other commands connect to it; SIGTERM stops it."""

import pytest
from kit import newscrawler, start

from newscrawler.store.server import find_running

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)


def test_db_serve_is_shared_and_stops_cleanly(tmp_path):
    serve = start(tmp_path, "db", "serve", embedded=True, stderr=None)
    try:
        line = serve.stdout.readline()
        assert line.startswith("serving mongodb://127.0.0.1:")
        uri = line.split()[1]
        running = find_running(tmp_path)
        # The printed URI names the database, so mongosh given it lands there rather than in `test`.
        assert running is not None and uri == running.uri + "newscrawler"
        stats = newscrawler(tmp_path, "db", "stats", embedded=True, timeout=60)
        assert stats.returncode == 0 and uri in stats.stdout
        assert find_running(tmp_path) is not None  # the inspecting command did not stop the shared server
    finally:
        serve.terminate()
        assert serve.wait(30) == 0
    assert find_running(tmp_path) is None
