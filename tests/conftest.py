"""Shared fixtures: a real MongoDB-wire server (SecantusDB, or $NEWSCRAWLER_TEST_MONGO_URI) over TCP."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pymongo
import pytest

from newscrawler.store import Store
from newscrawler.store.server import ensure_server

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSCRAWLER_CORPUS", REPO.parent / "shared" / "corpus"))
SEED_DIR = REPO.parent / "shared" / "seed"


@pytest.fixture(autouse=True)
def _no_ambient_config(monkeypatch):
    """Tests choose their own database and data directory; the developer's environment must not leak in."""
    for var in ("MONGO_URI", "NEWSCRAWLER_DATA_DIR", "NEWSCRAWLER_PROFILES", "http_proxy", "HTTP_PROXY",
                "NEWSCRAWLER_ALERT_WEBHOOK", "NEWSCRAWLER_ALERT_EMAIL_TO"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory):
    external = os.environ.get("NEWSCRAWLER_TEST_MONGO_URI")
    if external:
        yield external
        return
    server = ensure_server(tmp_path_factory.mktemp("mongo"))
    yield server.client_uri
    server.stop()


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
