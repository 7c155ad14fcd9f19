"""`newscrawler db serve` keeps the embedded server up; other commands connect to it; SIGTERM stops it."""

import subprocess
import sys
from pathlib import Path

from newscrawler.store.server import find_running

REPO = Path(__file__).resolve().parents[1]


def test_db_serve_is_shared_and_stops_cleanly(tmp_path):
    serve = subprocess.Popen([sys.executable, "-m", "newscrawler", "--data-dir", str(tmp_path), "db", "serve"],
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = serve.stdout.readline()
        assert line.startswith("serving mongodb://127.0.0.1:")
        uri = line.split()[1]
        running = find_running(tmp_path)
        # The printed URI names the database, so mongosh given it lands there rather than in `test`.
        assert running is not None and uri == running.uri + "newscrawler"
        stats = subprocess.run([sys.executable, "-m", "newscrawler", "--data-dir", str(tmp_path), "db", "stats"],
                               capture_output=True, text=True, cwd=REPO, timeout=60)
        assert stats.returncode == 0 and uri in stats.stdout
        assert find_running(tmp_path) is not None  # the inspecting command did not stop the shared server
    finally:
        serve.terminate()
        assert serve.wait(30) == 0
    assert find_running(tmp_path) is None
