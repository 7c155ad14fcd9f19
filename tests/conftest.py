"""Shared fixtures: a real MongoDB-wire server (SecantusDB, or $NEWSCRAWLER_TEST_MONGO_URI) over TCP, one for
the session (kit.SHARED: the tests' stores and, by default, their child processes use it)."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="session", autouse=True)
def _shared_server_stops():
    """The session's server (started on first use) is stopped, and the databases made on it dropped, at the end."""
    yield
    SHARED.stop()


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
    client.drop_database(name)
    client.close()


def corpus_dir(name: str) -> Path:
    path = CORPUS / name
    if not path.is_dir():
        pytest.skip(f"corpus folder {path} is absent")
    return path
