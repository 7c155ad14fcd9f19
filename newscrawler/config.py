"""Where things live: the data directory (embedded database, logs, locks) and the MongoDB URI."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote_plus


class ConfigError(ValueError):
    """A setting in the environment is missing or wrong; the message names it (never a password)."""


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """--data-dir, else $NEWSCRAWLER_DATA_DIR, else ./var; created on first use."""
    path = Path(explicit or os.environ.get("NEWSCRAWLER_DATA_DIR") or "var").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def mongo_uri() -> str | None:
    """An external MongoDB when $MONGO_URI is set, or one built from $MONGO_HOST and its companions (below);
    None means the embedded server."""
    if os.environ.get("MONGO_URI"):
        return os.environ["MONGO_URI"]
    if os.environ.get("MONGO_HOST"):
        return uri_from_environment(os.environ)
    return None


def uri_from_environment(env: os._Environ | dict) -> str:
    """The URI for MONGO_HOST (host[:port], comma-separated for a replica set), MONGO_USER, and the password
    from MONGO_PASSWORD or the file MONGO_PASSWORD_FILE (a Docker secret; one trailing newline ignored),
    MONGO_AUTH_SOURCE (default: the database) and NEWSCRAWLER_DB. User and password are percent-encoded,
    so any character may be in them (`@`, `:`, `/` broke a hand-written MONGO_URI)."""
    user = env.get("MONGO_USER") or ""
    password = env.get("MONGO_PASSWORD") or ""
    if not password and env.get("MONGO_PASSWORD_FILE"):
        path = Path(env["MONGO_PASSWORD_FILE"])
        try:
            password = path.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except OSError as exc:
            raise ConfigError(f"MONGO_PASSWORD_FILE {path} cannot be read: {exc.strerror}") from None
    if user and not password:
        raise ConfigError("MONGO_USER is set but no password: set MONGO_PASSWORD or MONGO_PASSWORD_FILE")
    db = env.get("NEWSCRAWLER_DB") or "newscrawler"
    return build_mongo_uri(env["MONGO_HOST"], user, password, env.get("MONGO_AUTH_SOURCE") or db)


def build_mongo_uri(host: str, user: str = "", password: str = "", auth_source: str | None = None) -> str:
    credentials = f"{quote_plus(user)}:{quote_plus(password)}@" if user else ""
    query = f"?authSource={quote_plus(auth_source)}" if user and auth_source else ""
    return f"mongodb://{credentials}{host}/{query}"


def database_name() -> str:
    return os.environ.get("NEWSCRAWLER_DB", "newscrawler")
