"""The connection: MONGO_URI or the embedded server, errors in plain words, passwords never shown."""

from __future__ import annotations

import re
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

from newscrawler import config
from newscrawler.store.server import EmbeddedServer, EmbeddedServerError, ensure_server

CONNECT_TIMEOUT_MS = 5000


class StoreError(RuntimeError):
    """MongoDB could not be reached or refused a write; the message never contains a password."""


def redact_uri(uri: str) -> str:
    """The URI with any password replaced by ***, for logs, errors and crawl records."""
    return re.sub(r"(mongodb(?:\+srv)?://[^:/@\s]+):[^@\s]*@", r"\1:***@", uri)


def naming_database(uri: str, db_name: str) -> str:
    """The URI with the database in its path when it names none (`mongodb://host:port/` → `…/newscrawler`),
    so mongosh and other tools given it land in the right database rather than `test`."""
    head, sep, tail = uri.partition("?")
    rest = head.split("://", 1)[-1]
    if "/" not in rest:
        head += "/"
    if head.endswith("/"):
        head += db_name
    return head + sep + tail


def reason(exc: Exception) -> str:
    """pymongo's message without the topology dump that follows it, and never with a password."""
    return redact_uri(str(exc).split(", Timeout:")[0].split(" (configured timeouts")[0])


def connect(uri: str | None = None, data_dir: str | Path | None = None
            ) -> tuple[pymongo.MongoClient, str, EmbeddedServer | None]:
    """A client for MONGO_URI (or `uri`), else for the embedded server on the data directory, started
    when none runs there. Fails within seconds, naming the URI without its password."""
    try:
        uri = uri or config.mongo_uri()
    except config.ConfigError as exc:
        raise StoreError(str(exc)) from None
    server = None
    if not uri:
        try:
            server = ensure_server(config.data_dir(data_dir))
        except EmbeddedServerError as exc:
            raise StoreError(str(exc)) from None
        uri = server.uri
    client = pymongo.MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=CONNECT_TIMEOUT_MS,
                                 connectTimeoutMS=CONNECT_TIMEOUT_MS)
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        client.close()
        if server:
            server.stop()
        raise StoreError(f"cannot reach MongoDB at {redact_uri(uri)}: {reason(exc)}") from None
    return client, uri, server


def journalled(collection: pymongo.collection.Collection) -> pymongo.collection.Collection:
    """The collection with writes acknowledged only once journalled: for a run's last batch and its record
    (an acknowledged w:1 write can be lost if the server is killed within ~20 ms, notes/mongodb.md)."""
    return collection.with_options(write_concern=pymongo.WriteConcern(w=1, j=True))
