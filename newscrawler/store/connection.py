"""The connection: MONGO_URI or the embedded server, errors in plain words, passwords never shown."""

from __future__ import annotations

import re
from pathlib import Path

import pymongo
from pymongo.errors import InvalidURI, PyMongoError

from newscrawler import config
from newscrawler.store.server import EmbeddedServer, EmbeddedServerError, ensure_server, find_running

CONNECT_TIMEOUT_MS = 5000
# An operation the server accepted but does not answer (a stalled server) fails after this long; the crawl
# uses a shorter one (extensions/store.py) and notices a lost store sooner still by pinging it.
SOCKET_TIMEOUT_MS = 60_000


class StoreError(RuntimeError):
    """MongoDB could not be reached or refused a write; the message never contains a password."""


class StoreConfigError(StoreError):
    """MONGO_URI is malformed (a usage error, not an outage); the message names it without its password."""


# user:password@ up to the last @ before the host: a password with an unescaped @ (p@ss) is hidden whole.
_PASSWORD = re.compile(r"((?:mongodb(?:\+srv)?|https?)://[^:/@\s]*):[^\s]*@(?=[^@\s]*(?:\s|$))")


def redact_uri(uri: str) -> str:
    """The URI with any password replaced by ***, for logs, errors and crawl records."""
    return _PASSWORD.sub(r"\1:***@", uri)


# A failure's reason is quoted in logs, the run record and cron's mail: a bulk write error's message holds the
# documents it failed on (20 MB for one oversized article), so only its first error is told, and briefly.
MAX_REASON = 500


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
    """pymongo's message without the topology dump that follows it or the documents of a bulk write, bounded,
    and never with a password."""
    details = getattr(exc, "details", None)
    errors = details.get("writeErrors") if isinstance(details, dict) else None
    if errors:
        first = errors[0]
        text = (f"{len(errors)} write error(s), the first: code {first.get('code')}: "
                f"{str(first.get('errmsg', ''))[:200]}")
    else:
        text = str(exc).split(", Timeout:")[0].split(" (configured timeouts")[0].split(", full error:")[0]
    text = redact_uri(text)
    return text if len(text) <= MAX_REASON else text[:MAX_REASON] + " …"


def _embedded_uri(uri: str, data_dir: str | Path | None) -> bool:
    """Whether `uri` is the shown address of the embedded server of this data directory (a crawl is handed
    the URI its command connected to: it joins that server, with the directory's credentials)."""
    if data_dir is None or not uri.startswith("mongodb://127.0.0.1:"):
        return False
    running = find_running(Path(data_dir))
    return running is not None and running.uri == uri


def connect(uri: str | None = None, data_dir: str | Path | None = None, socket_timeout_ms: int = SOCKET_TIMEOUT_MS
            ) -> tuple[pymongo.MongoClient, str, EmbeddedServer | None]:
    """A client for MONGO_URI (or `uri`), else for the embedded server on the data directory, started
    when none runs there. Fails within seconds, naming the URI without its password. The URI returned is
    the one to show: the embedded server's carries no password."""
    try:
        uri = uri or config.mongo_uri()
    except config.ConfigError as exc:
        raise StoreConfigError(str(exc)) from None
    server = None
    if not uri or _embedded_uri(uri, data_dir):
        try:
            server = ensure_server(config.data_dir(data_dir))
        except EmbeddedServerError as exc:
            raise StoreError(str(exc)) from None
        uri = server.uri
    try:
        client = pymongo.MongoClient(server.client_uri if server else uri, tz_aware=True,
                                     serverSelectionTimeoutMS=CONNECT_TIMEOUT_MS, connectTimeoutMS=CONNECT_TIMEOUT_MS,
                                     socketTimeoutMS=socket_timeout_ms)
    except (InvalidURI, ValueError) as exc:
        if server:
            server.stop()
        raise StoreConfigError(f"MONGO_URI {redact_uri(uri)} is not a usable MongoDB URI: {reason(exc)}") from None
    except PyMongoError as exc:  # e.g. a mongodb+srv:// name the DNS does not know (looked up here)
        if server:
            server.stop()
        raise StoreError(f"cannot reach MongoDB at {redact_uri(uri)}: {reason(exc)}") from None
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
