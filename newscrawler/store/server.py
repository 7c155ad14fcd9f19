"""The embedded MongoDB-wire server (SecantusDB) behind the default store.

With no MONGO_URI, newscrawler keeps its database under `<data dir>/db` and talks to it through a
`secantusd-py` daemon on 127.0.0.1. Only one process may open that directory (WiredTiger's lock), so the
daemon's address is written to `<data dir>/db/server.json`: whoever finds a live server there connects to
it instead of starting a second one. Nothing else in the project knows this module exists.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pymongo
from pymongo.errors import PyMongoError

START_TIMEOUT_S = 30.0


class EmbeddedServerError(RuntimeError):
    """The embedded server could not be started or reached; the message says why in plain words."""


@dataclass
class EmbeddedServer:
    uri: str
    pid: int
    storage: Path
    # True when this process started the daemon (and so stops it when done).
    owned: bool

    def stop(self, timeout: float = 15.0) -> None:
        if not self.owned:
            return
        _terminate(self.pid, timeout)
        info = self.storage / "server.json"
        try:
            if json.loads(info.read_text()).get("pid") == self.pid:
                info.unlink()
        except (OSError, ValueError):
            pass


def _terminate(pid: int, timeout: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:  # not our child: poll for existence instead
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _ping(uri: str, timeout_ms: int = 1500) -> bool:
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


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


def find_running(data_dir: Path) -> EmbeddedServer | None:
    """The live server already serving this data directory, if any."""
    storage = data_dir / "db"
    try:
        info = json.loads((storage / "server.json").read_text())
    except (OSError, ValueError):
        return None
    uri = info.get("uri", "")
    if uri and _ping(uri):
        return EmbeddedServer(uri=uri, pid=int(info.get("pid", 0)), storage=storage, owned=False)
    return None


def ensure_server(data_dir: Path) -> EmbeddedServer:
    """Connect to the server running on `data_dir`, or start one; raise EmbeddedServerError in plain words."""
    running = find_running(data_dir)
    if running:
        return running
    storage = data_dir / "db"
    storage.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    uri = f"mongodb://127.0.0.1:{port}/"
    log_path = data_dir / "db-server.log"
    cmd = _daemon_command() + ["--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage),
                               "--standalone", "--cache-size", "256M", "--log-level", "WARNING"]
    with open(log_path, "ab") as log:
        # Own session: a Ctrl-C in the terminal reaches the crawler, which then stops the server cleanly.
        proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            if "already being managed by another process" in tail or "Resource busy" in tail:
                # Another process won the race to start a server here: use it once it answers.
                for _ in range(50):
                    other = find_running(data_dir)
                    if other:
                        return other
                    time.sleep(0.1)
                raise EmbeddedServerError(
                    f"the database in {storage} is locked by another process that is not answering; "
                    "is another newscrawler or secantusd-py using this data directory? (see --data-dir)")
            raise EmbeddedServerError(
                f"the embedded database server exited with code {code}; its log is {log_path}")
        if _ping(uri, timeout_ms=300):
            (storage / "server.json").write_text(json.dumps({"uri": uri, "pid": proc.pid}))
            return EmbeddedServer(uri=uri, pid=proc.pid, storage=storage, owned=True)
        time.sleep(0.1)
    _terminate(proc.pid, 5)
    raise EmbeddedServerError(
        f"the embedded database server did not answer within {START_TIMEOUT_S:.0f} s; see {log_path}")
