"""Shared fixtures: a real MongoDB-wire server (SecantusDB, or $NEWSCRAWLER_TEST_MONGO_URI) over TCP, one for
the session (kit.SHARED: the tests' stores and, by default, their child processes use it)."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import kit
import pymongo
import pytest
from kit import SHARED

from newscrawler.store import Store

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSCRAWLER_CORPUS", REPO.parent / "shared" / "corpus"))
SEED_DIR = REPO.parent / "shared" / "seed"


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch):
    """Tests choose their own database and data directory; the developer's environment must not leak in."""
    for var in ("MONGO_URI", "NEWSCRAWLER_DATA_DIR", "NEWSCRAWLER_PROFILES", "http_proxy", "HTTP_PROXY",
                "NEWSCRAWLER_ALERT_WEBHOOK", "NEWSCRAWLER_ALERT_EMAIL_TO"):
        monkeypatch.delenv(var, raising=False)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Child processes only in tests marked e2e (before any fixture is set up: module fixtures crawl too), so
    `make test-fast` (-m "not e2e …") stays fast."""
    kit.CHILDREN_ALLOWED = item.get_closest_marker("e2e") is not None


def pytest_configure(config):
    """The controller (or the only process) makes the session directory its xdist workers share (kit.session_dir)
    and, under xdist, starts the one zygote they all fork their children from."""
    if hasattr(config, "workerinput"):
        return
    session = kit.session_dir()
    if getattr(config.option, "numprocesses", None) and kit.forking():
        kit.ZYGOTE.start(session)


def pytest_unconfigure(config):
    if hasattr(config, "workerinput"):
        return
    kit.ZYGOTE.stop()
    shutil.rmtree(kit.session_dir(), ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _shared_server_stops():
    """The session's server (started on first use) is stopped, and the databases made on it dropped, at the end."""
    yield
    SHARED.stop()
    kit.ZYGOTE.stop()  # if this process started it


@pytest.fixture(scope="session")
def mongo_uri() -> str:
    return SHARED.uri


@pytest.fixture
def store(mongo_uri):
    """A Store on a fresh database of the shared test server, dropped afterwards."""
    client = pymongo.MongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
    name = f"test_{uuid.uuid4().hex[:12]}"
    s = Store(client, name, mongo_uri)
    s.ensure_indexes()
    yield s
    s.search.close()
    s.bands.close()
    client.drop_database(name)
    client.close()


def corpus_dir(name: str) -> Path:
    path = CORPUS / name
    if not path.is_dir():
        pytest.skip(f"corpus folder {path} is absent")
    return path


# -- spreading the suite over pytest-xdist workers (make test: -n N --dist loadscope) ----------------------------

# Files whose module fixtures crawl (one crawl read by several tests): their tests stay in one worker so the crawl
# runs once. Every other test is a unit of its own and goes to whichever worker is free. (pytest-xdist's own
# `xdist_group` mark cannot say this: it renames node ids, which pytest 9 no longer allows.)
ONE_WORKER_FILES = {"test_archive.py", "test_console.py", "test_crawl.py", "test_dedup_crawl.py", "test_import.py",
                    "test_listing.py", "test_monitors_alerts.py"}

# The longest units, in seconds on an idle 2-core machine, started first (longest first) so that none is left
# running alone at the end; the rest follow in collection order. Only the order depends on these numbers.
LONGEST = {"test_crawl.py": 100, "test_monitors_alerts.py": 60, "test_archive.py": 60, "test_console.py": 45,
           "test_demo.py": 45, "test_faults_store.py": 55,
           "test_faults_disk.py::test_a_disk_that_fills_mid_crawl_loses_nothing_and_floods_nothing": 40,
           "test_faults_server.py::test_a_signal_during_start_up_never_bricks_the_data_directory": 40,
           "test_run_safety.py::test_a_run_whose_database_hangs_is_stopped_at_once_after_its_deadline_and_grace": 35,
           "test_run_safety.py::test_sigterm_mid_run_is_graceful_and_a_rerun_completes_the_set_exactly_once": 27,
           "test_run_safety.py::test_the_run_ends_at_its_deadline_with_status_5_and_nothing_lost": 23,
           "test_schedule.py::test_sigterm_to_the_loop_stops_the_running_crawl_gracefully": 20,
           "test_store_failure.py": 20}


def _expected_seconds(scope: str) -> float:
    """LONGEST's number for a unit (a file, or one test of a file that spreads), 0 for the rest."""
    scope = scope.removeprefix("tests/")
    return LONGEST.get(scope, LONGEST.get(scope.split("::")[0], 0))


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadscope":
        return None
    config.option.loadscopereorder = False  # collection order, after the longest units
    from xdist.scheduler import LoadScopeScheduling

    class FileOrTestScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if Path(path).name in ONE_WORKER_FILES else nodeid

        def _assign_work_unit(self, node) -> None:
            if not getattr(self, "_ordered", False):  # the first assignment: the longest units first
                self._ordered = True
                units = sorted(self.workqueue.items(), key=lambda unit: -_expected_seconds(unit[0]))
                self.workqueue.clear()
                self.workqueue.update(units)
            super()._assign_work_unit(node)

    return FileOrTestScheduling(config, log)
