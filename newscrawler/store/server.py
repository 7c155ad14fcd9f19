"""The embedded MongoDB-wire server (SecantusDB) behind the default store.

With no MONGO_URI, newscrawler keeps its database under `<data dir>/db` and talks to it through a
`secantusd-py` daemon on 127.0.0.1. Only one process may open that directory (WiredTiger's lock), so the
daemon's address is recorded in `<data dir>/db/server.json`, and every process using the data directory
connects to that one daemon. Nothing else in the project knows this module exists.

What keeps it from ever bricking the data directory or being left behind:

- The daemon is started and stopped by a supervisor process (supervise.py, in its own session) that stops
  it as soon as no client holds the lease (`db/server.lease`, a shared flock each client keeps while it
  uses the server; the kernel releases it however the client ends — SIGKILL in the first second of
  start-up included). Joining, starting and stopping are decided under one exclusive lock
  (`db/server.lock`).
- Every connect checks the server's identity: the pid that answers `serverStatus` must be the daemon that
  server.json names, and that process must be serving this data directory (its command line, from /proc).
  A stale server.json pointing at another data directory's server is never used.
- A daemon found on this data directory that is not usable — unrecorded, not answering, started without
  authentication by an older version — is stopped; a recorded one that answers but lost its supervisor is
  adopted by a new supervisor.
- Authentication: the daemon runs with `--auth`; the user `newscrawler` and a generated password live in
  `db/credentials.json` (mode 0600; the data directory and `db/` are 0700). The first start of a data
  directory creates the user with the daemon briefly running without authentication (about 2 s, nothing
  stored yet), then checks that no other user appeared and restarts it with `--auth`. The password is
  never part of a URI that is shown: `uri` is `mongodb://127.0.0.1:PORT/`, `client_uri` carries it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote_plus

import pymongo
from pymongo.errors import OperationFailure, PyMongoError

from newscrawler.store import supervise

logger = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
LOCK_TIMEOUT_S = 60.0
# A recorded daemon that does not answer within this long is taken for hung and stopped.
ANSWER_TIMEOUT_MS = 5000
# A server that does not answer a ping within HUNG_AFTER_MS is taken for hung and killed HUNG_GRACE_S after it
# is asked to stop. A healthy server on a loaded machine can take over a second to answer, and seconds to
# close its files.
HUNG_AFTER_MS = 3000
HUNG_GRACE_S = 5.0
USER = "newscrawler"
SUPERVISOR = Path(supervise.__file__)


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started or reached; the message says why in plain words."""


@dataclass
class EmbeddedServer:
    uri: str  # mongodb://127.0.0.1:PORT/ — what is shown; never holds the password
    pid: int
    storage: Path
    # True when this process started the daemon.
    owned: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    _lease: BinaryIO | None = field(default=None, repr=False, compare=False)
    _supervisor: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    @property
    def client_uri(self) -> str:
        """The URI with the credentials, for a client (never log it)."""
        if not self.username:
            return self.uri
        host = self.uri.split("://", 1)[1].rstrip("/")
        return f"mongodb://{quote_plus(self.username)}:{quote_plus(self.password or '')}@{host}/?authSource=admin"

    def client(self, **options: Any) -> pymongo.MongoClient:
        return pymongo.MongoClient(self.client_uri, **options)

    def stop(self, timeout: float = supervise.STOP_TIMEOUT_S) -> None:
        """This process is done with the server: release its lease, and stop the server if no other client
        holds one (several commands may share it, e.g. `db serve` and a crawl)."""
        if self._lease is None:
            return
        with _control_lock(self.storage):
            self._lease.close()
            self._lease = None
            last = supervise._try_lock(self.storage / "server.lease", fcntl.LOCK_EX)
            if last is not None:
                try:
                    _shutdown(self.storage, timeout)
                finally:
                    os.close(last)
        if self._supervisor is not None:
            if last is not None:  # we stopped it: reap the supervisor we started (it exits with the daemon)
                try:
                    self._supervisor.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            self._supervisor = None  # else it runs on for the other clients


# -- locks ------------------------------------------------------------------------------------------------

@contextmanager
def _control_lock(storage: Path, timeout: float = LOCK_TIMEOUT_S):
    """The exclusive lock under which a client starts, joins or leaves the server (and the supervisor stops it)."""
    deadline = time.monotonic() + timeout
    while True:
        fd = supervise._try_lock(storage / "server.lock", fcntl.LOCK_EX)
        if fd is not None:
            break
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"another process has been starting or stopping the database in {storage} "
                                      f"for over {timeout:.0f} s; is it stuck? (see {storage}/server.json)")
        time.sleep(0.05)
    try:
        yield
    finally:
        os.close(fd)


def _take_lease(storage: Path) -> BinaryIO:
    fh = open(storage / "server.lease", "ab")  # noqa: SIM115 - held for as long as the server is used
    os.chmod(storage / "server.lease", 0o600)
    fcntl.flock(fh, fcntl.LOCK_SH)
    return fh


# -- processes --------------------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, exited but not yet reaped by its parent, does not)."""
    if pid <= 0:
        return False
    try:
        os.waitpid(pid, os.WNOHANG)  # reaps it if it is a child of ours that has exited
    except ChildProcessError:
        pass
    return supervise._alive(pid)


_cmdline = supervise.cmdline


def _serves(cmd: list[str], storage: Path) -> bool:
    """Whether a command line is a secantusd-py daemon on this storage directory."""
    if not any(Path(a).name == "secantusd-py" for a in cmd[:2]):
        return False
    try:
        path = cmd[cmd.index("--storage-path") + 1]
    except (ValueError, IndexError):
        return False
    return Path(path).resolve() == storage.resolve()


def _daemons_on(storage: Path) -> list[int]:
    """Every secantusd-py process serving this storage directory (Linux; elsewhere none can be found)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        cmd = _cmdline(int(entry.name))
        if cmd and _serves(cmd, storage):
            found.append(int(entry.name))
    return found


def _kill(pid: int, timeout: float = 15.0) -> None:
    supervise.stop_daemon(pid, timeout)


def _shutdown(storage: Path, timeout: float) -> None:
    """Stop the recorded server: through its supervisor if it has one, else the daemon itself."""
    info = _read_info(storage)
    if not info:
        return
    pid, sup = int(info.get("pid", 0)), int(info.get("supervisor", 0))
    if _alive(pid) and not _ping(str(info.get("uri", "")), HUNG_AFTER_MS):
        # Hung (it accepts and never answers): it would not stop cleanly either; killed after a short grace.
        timeout = min(timeout, HUNG_GRACE_S)
    if _alive(sup) and (cmd := _cmdline(sup)) is not None and str(SUPERVISOR) in cmd:
        try:
            os.kill(sup, signal.SIGTERM)
        except ProcessLookupError:
            pass
    elif _alive(pid):
        _kill(pid, timeout)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        logger.warning("the database server (pid %d) did not stop within %.0f s of being asked; killed", pid, timeout)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    supervise.forget(storage, pid)


# -- the recorded server ----------------------------------------------------------------------------------

def _read_info(storage: Path) -> dict[str, Any] | None:
    try:
        info = json.loads((storage / "server.json").read_text())
        return info if isinstance(info, dict) else None
    except (OSError, ValueError):
        return None


def _answering_pid(uri: str, creds: dict[str, Any] | None, timeout_ms: int) -> int | None:
    """The pid of the server answering at `uri` with our credentials, or None (not answering, refusing
    our credentials, or not a server)."""
    options: dict[str, Any] = {"serverSelectionTimeoutMS": timeout_ms, "connectTimeoutMS": timeout_ms,
                               "socketTimeoutMS": timeout_ms}
    if creds:
        options.update(username=creds["user"], password=creds["password"], authSource="admin")
    client = pymongo.MongoClient(uri, **options)
    try:
        return int(client.admin.command("serverStatus").get("pid", 0)) or None
    except (PyMongoError, ValueError, TypeError):
        return None
    finally:
        client.close()


def _ping(uri: str, timeout_ms: int) -> bool:
    """Whether a server answers at `uri` (ping needs no authentication)."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
                                 socketTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _in_use(storage: Path) -> bool:
    """Whether some client holds the server's lease."""
    fd = supervise._try_lock(storage / "server.lease", fcntl.LOCK_EX)
    if fd is None:
        return True
    os.close(fd)
    return False


def _recorded(storage: Path, creds: dict[str, Any] | None) -> EmbeddedServer | None:
    """The recorded server, if it is alive, serves this data directory and answers us; a recorded daemon
    that fails any of these is stopped (it would hold the directory's lock). Call under the control lock."""
    info = _read_info(storage)
    if not info:
        return None
    pid, uri = int(info.get("pid", 0) or 0), str(info.get("uri", ""))
    if not _alive(pid):
        (storage / "server.json").unlink(missing_ok=True)
        return None
    cmd = _cmdline(pid)
    if cmd is not None and not _serves(cmd, storage):
        # The pid was reused, or the file was copied from elsewhere: not our server, leave that process alone.
        (storage / "server.json").unlink(missing_ok=True)
        return None
    if cmd is not None and "--auth" not in cmd:
        _kill(pid)  # started without authentication (an older newscrawler): replaced by one with it
        supervise.forget(storage, pid)
        return None
    answering = _answering_pid(uri, creds, ANSWER_TIMEOUT_MS)
    deadline = time.monotonic() + START_TIMEOUT_S
    while answering != pid and _in_use(storage) and time.monotonic() < deadline:
        answering = _answering_pid(uri, creds, ANSWER_TIMEOUT_MS)  # busy serving others: give it time
    if answering != pid:
        if _in_use(storage):
            raise EmbeddedServerError(
                f"the database server on {storage} (pid {pid}) does not answer, and other newscrawler processes "
                "are using it; try again when they have finished")
        _kill(pid)  # hung, or refusing our credentials, and nobody uses it: it holds the directory, so it goes
        supervise.forget(storage, pid)
        return None
    server = EmbeddedServer(uri=uri, pid=pid, storage=storage, owned=False, username=creds and creds["user"],
                            password=creds and creds["password"])
    sup = int(info.get("supervisor", 0) or 0)
    if not (_alive(sup) and (_cmdline(sup) is None or str(SUPERVISOR) in (_cmdline(sup) or []))):
        _adopt(storage, uri, pid)  # alive and answering but unsupervised
    return server


def find_running(data_dir: Path) -> EmbeddedServer | None:
    """The live server serving this data directory, if any (identity checked; nothing is started, stopped
    or held)."""
    storage = data_dir / "db"
    info = _read_info(storage)
    if not info:
        return None
    pid = int(info.get("pid", 0) or 0)
    cmd = _cmdline(pid) if _alive(pid) else None
    if not _alive(pid) or (cmd is not None and not _serves(cmd, storage)):
        return None
    creds = _load_credentials(storage)
    if _answering_pid(str(info.get("uri", "")), creds, 1500) != pid:
        return None
    return EmbeddedServer(uri=info["uri"], pid=pid, storage=storage, owned=False,
                          username=creds and creds["user"], password=creds and creds["password"])


# -- credentials ------------------------------------------------------------------------------------------

def _load_credentials(storage: Path) -> dict[str, Any] | None:
    try:
        creds = json.loads((storage / "credentials.json").read_text())
    except (OSError, ValueError):
        return None
    return creds if isinstance(creds, dict) and creds.get("user") and creds.get("password") else None


def _save_credentials(storage: Path, creds: dict[str, Any]) -> None:
    tmp = storage / ".credentials.json.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(creds, fh)
    os.replace(tmp, storage / "credentials.json")


def _provision(data_dir: Path, storage: Path) -> dict[str, Any]:
    """Create the `newscrawler` user with a new password: the daemon runs without authentication for the
    couple of seconds this takes (only on a data directory's first start), then is checked and stopped."""
    creds = _load_credentials(storage) or {"user": USER, "password": secrets.token_urlsafe(24)}
    creds["provisioned"] = False
    _save_credentials(storage, creds)  # before the user exists: a run killed now redoes this, same password
    proc, uri, pid = _launch(data_dir, storage, auth=False)
    try:
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
        try:
            users = {u["user"] for u in client.admin.command("usersInfo").get("users", [])}
            if users - {USER}:
                raise EmbeddedServerError(
                    f"the database in {storage} has users newscrawler did not create ({', '.join(sorted(users))}); "
                    "refusing to use it (someone may have reached it while it had no password)")
            command = "updateUser" if USER in users else "createUser"
            extra = {} if USER in users else {"roles": [{"role": "root", "db": "admin"}]}
            client.admin.command(command, USER, pwd=creds["password"], **extra)
        except OperationFailure as exc:
            raise EmbeddedServerError(f"could not create the database user in {storage}: {exc}") from None
        finally:
            client.close()
    finally:
        _stop_launched(storage, proc, pid)
    creds["provisioned"] = True
    _save_credentials(storage, creds)
    return creds


# -- starting ---------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _daemon_command() -> list[str]:
    exe = shutil.which("secantusd-py") or str(Path(sys.executable).with_name("secantusd-py"))
    if not Path(exe).exists():
        raise EmbeddedServerError(
            "no MONGO_URI is set and the embedded database (SecantusDB) is not installed: "
            "run `pip install -e '.[embedded]'` (make setup does), or set MONGO_URI=mongodb://…")
    return [exe]


def _supervise(storage: Path, uri: str, *, adopt: int | None = None, command: list[str] = (),
               auth: bool = True, log: BinaryIO | int = subprocess.DEVNULL) -> subprocess.Popen:
    cmd = [sys.executable, "-I", str(SUPERVISOR), "--storage", str(storage), "--uri", uri]
    cmd += ["--auth"] if auth else []
    cmd += ["--adopt", str(adopt)] if adopt else ["--", *command]
    # Own session: a Ctrl-C in the terminal reaches the crawler only; the supervisor stops the daemon when
    # the crawler lets go of it. umask: the database files are the owner's alone.
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                            umask=0o077)


def _adopt(storage: Path, uri: str, pid: int) -> None:
    """Give a running daemon a supervisor, and return once server.json names it: until then a client that
    stops the server would find no supervisor to ask (a SIGTERM in its first milliseconds, before its
    handlers, would end it and leave the daemon running)."""
    proc = _supervise(storage, uri, adopt=pid)
    deadline = time.monotonic() + START_TIMEOUT_S
    while (_read_info(storage) or {}).get("supervisor") != proc.pid:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise EmbeddedServerError(f"could not start a supervisor for the database server on {storage} "
                                      f"(pid {pid}); see {storage}/server.json")
        time.sleep(0.02)


def _launch(data_dir: Path, storage: Path, auth: bool) -> tuple[subprocess.Popen, str, int]:
    """Start a supervised daemon and wait until it answers; (supervisor, uri, daemon pid)."""
    port = _free_port()
    uri = f"mongodb://127.0.0.1:{port}/"
    log_path = data_dir / "db-server.log"
    config = storage / "secantusd.toml"
    if not config.exists():
        # An empty config file of our own: the daemon would otherwise read ./secantusd.toml or ~/.secantus/…
        config.write_text("# newscrawler starts secantusd-py with every option on its command line\n")
    daemon = _daemon_command() + ["--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage),
                                  "--config", str(config), "--standalone", "--cache-size", "256M",
                                  "--log-level", "WARNING"] + (["--auth"] if auth else [])
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(log_path, 0o600)
    with os.fdopen(fd, "ab") as log:
        proc = _supervise(storage, uri, command=daemon, auth=auth, log=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            info = _read_info(storage) or {}
            pid = int(info.get("pid", 0) or 0) if info.get("supervisor") == proc.pid else 0
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                if "already being managed by another process" in tail or "Resource busy" in tail:
                    raise EmbeddedServerError(
                        f"the database in {storage} is locked by another process that is not a newscrawler server "
                        "(another secantusd-py on this data directory? see --data-dir)")
                raise EmbeddedServerError(f"the embedded database server could not start; its log is {log_path}")
            if pid and _ping(uri, 300):
                return proc, uri, pid
            time.sleep(0.05)
        raise EmbeddedServerError(
            f"the embedded database server did not answer within {START_TIMEOUT_S:.0f} s; see {log_path}")
    except BaseException:
        # Interrupted (Ctrl-C) or failed: stop what was started; the supervisor would anyway once we are gone.
        _stop_launched(storage, proc, None)
        raise


def _stop_launched(storage: Path, proc: subprocess.Popen, pid: int | None) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(supervise.STOP_TIMEOUT_S + 5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if pid and _alive(pid):
        _kill(pid)


def _private(path: Path) -> None:
    """Owner-only: the data directory holds the database, its credentials, logs and spill files."""
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o700)
    except PermissionError:
        pass  # not ours to change (e.g. a directory shared on purpose); the files inside still are 0600


def ensure_server(data_dir: Path) -> EmbeddedServer:
    """Join the server running on `data_dir`, or start one; raise EmbeddedServerError in plain words. The
    caller holds the server until `stop()` (or until it exits, however it exits)."""
    data_dir = Path(data_dir)
    storage = data_dir / "db"
    storage.mkdir(parents=True, exist_ok=True, mode=0o700)
    _private(data_dir)
    _private(storage)
    with _control_lock(storage):
        creds = _load_credentials(storage)
        creds = creds if creds and creds.get("provisioned") else None
        running = _recorded(storage, creds) if creds else None
        if running:
            running._lease = _take_lease(storage)
            return running
        for pid in _daemons_on(storage):
            _kill(pid)  # an orphan nobody recorded: it holds the directory's lock
        if creds is None:
            recorded = _read_info(storage) or {}
            pid = int(recorded.get("pid", 0) or 0)
            if _alive(pid) and (cmd := _cmdline(pid)) is not None and _serves(cmd, storage):
                _shutdown(storage, 15)  # e.g. an older newscrawler's server without authentication
            (storage / "server.json").unlink(missing_ok=True)
            creds = _provision(data_dir, storage)
        lease = _take_lease(storage)
        try:
            proc, uri, pid = _launch(data_dir, storage, auth=True)
        except BaseException:
            lease.close()
            raise
        return EmbeddedServer(uri=uri, pid=pid, storage=storage, owned=True, username=creds["user"],
                              password=creds["password"], _lease=lease, _supervisor=proc)
