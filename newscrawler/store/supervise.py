"""The embedded database server's supervisor: a small process that owns the `secantusd-py` daemon.

Run by newscrawler.store.server (as a script, by path: it imports nothing from newscrawler, so it starts in
milliseconds and stays small). It starts the daemon as its own child — or adopts one already running on
the data directory — records it in `db/server.json`, and stops it as soon as no client needs it: every
client holds a shared flock on `db/server.lease` for as long as it uses the server, and the kernel drops
that lock when a client exits, however it exits (SIGKILL included). Decisions to stop (here) and to join
(server.py) are taken under the exclusive `db/server.lock`, so a client never joins a server that is
being stopped.

If the supervisor itself is killed, the daemon gets SIGTERM from the kernel (PR_SET_PDEATHSIG, Linux);
the next client then finds no server, or a recorded one it can adopt or stop (see server.py).

    python supervise.py --storage DIR --uri URI [--adopt PID] [-- DAEMON COMMAND...]
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

CHECK_EVERY_S = 0.5
# A daemon closing WiredTiger after a big crawl can take several seconds on a busy machine.
STOP_TIMEOUT_S = 30.0
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the daemon, before exec: SIGTERM when the supervisor dies (Linux; elsewhere clients adopt or stop it)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:  # adopted: not our child
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # a zombie (exited, its parent has not reaped it yet) is gone as far as we are concerned
            return Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z"
        except (OSError, IndexError):
            return True


def _try_lock(path: Path, mode: int) -> int | None:
    """An fd holding the flock (mode | LOCK_NB) on path, or None when someone else holds a conflicting one."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


def write_info(storage: Path, info: dict) -> None:
    """server.json, replaced atomically, owner-only."""
    tmp = storage / f".server.json.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(info, fh)
    os.replace(tmp, storage / "server.json")


def forget(storage: Path, pid: int) -> None:
    """Remove server.json if it still names this daemon."""
    info = storage / "server.json"
    try:
        if json.loads(info.read_text()).get("pid") == pid:
            info.unlink()
    except (OSError, ValueError):
        pass


def cmdline(pid: int) -> list[str] | None:
    """The process's arguments (Linux /proc), or None where that cannot be read."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return None


def _address(pid: int) -> tuple[str, int] | None:
    """Where a secantusd-py daemon listens, from its command line, or None."""
    cmd = cmdline(pid) or []
    try:
        return cmd[cmd.index("--host") + 1], int(cmd[cmd.index("--port") + 1])
    except (ValueError, IndexError):
        return None


def _knock(address: tuple[str, int]) -> None:
    try:
        socket.create_connection(address, timeout=0.2).close()
    except OSError:
        pass


def _signal_main_thread(pid: int, sig: int) -> None:
    """Send `sig` to the process's main thread (tgkill, Linux), where a Python program runs its handlers.

    Sent to the process (kill), the signal may be taken by any of the daemon's threads (WiredTiger's, its
    accept thread); Python then only flags it, and a main thread asleep in Event.wait() never runs the
    handler. Measured on a loaded machine: SecantusDB ignored 3 SIGTERMs in 80 stops (killed 30 s later; a
    CI failure), 0 in 80 sent with tgkill."""
    try:
        tgkill = ctypes.CDLL(None, use_errno=True).tgkill
    except (OSError, AttributeError):
        os.kill(pid, sig)
        return
    if tgkill(pid, pid, sig) != 0:
        err = ctypes.get_errno()
        if err == errno.ESRCH:
            raise ProcessLookupError(err, os.strerror(err))
        os.kill(pid, sig)


def stop_daemon(pid: int, timeout: float = STOP_TIMEOUT_S) -> None:
    address = _address(pid)
    try:
        _signal_main_thread(pid, signal.SIGTERM)
        os.kill(pid, signal.SIGCONT)  # a stopped (stalled) daemon would otherwise keep the SIGTERM pending
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        # SecantusDB's stop closes its listening socket, then waits up to 2 s for its accept thread, which
        # close() does not wake on Linux: a connection does (a stop took 2.1 s, 0.17 s with it; measured).
        if address:
            _knock(address)
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--storage", required=True, type=Path)
    ap.add_argument("--uri", required=True)
    ap.add_argument("--auth", action="store_true", help="the daemon requires authentication")
    ap.add_argument("--adopt", type=int, help="supervise this running daemon instead of starting one")
    ap.add_argument("command", nargs="*", help="the daemon command (after --)")
    args = ap.parse_args(argv)
    storage: Path = args.storage
    pid = 0

    def terminate(signum: int, frame: object) -> None:
        if pid:
            stop_daemon(pid)
            forget(storage, pid)
        os._exit(0)

    # Before server.json names this supervisor: a client that reads it may stop the server at once, and a
    # SIGTERM that found no handler would end the supervisor and leave an adopted daemon running.
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    signal.signal(signal.SIGHUP, terminate)
    if args.adopt:
        pid = args.adopt
    else:
        daemon = subprocess.Popen(args.command, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        pid = daemon.pid
    write_info(storage, {"uri": args.uri, "pid": pid, "supervisor": os.getpid(), "storage": str(storage),
                         "auth": args.auth, "startedAt": datetime.now(UTC).isoformat(timespec="seconds")})
    control, lease = storage / "server.lock", storage / "server.lease"
    while True:
        time.sleep(CHECK_EVERY_S)
        if not _alive(pid):
            forget(storage, pid)
            return 0
        held = _try_lock(control, fcntl.LOCK_EX)
        if held is None:
            continue  # a client is starting, joining or leaving: look again shortly
        try:
            unused = _try_lock(lease, fcntl.LOCK_EX)
            if unused is not None:
                # No client holds the lease: the last one left (or died). Stop the server while holding both
                # locks, so a client arriving now waits and then starts a fresh one.
                stop_daemon(pid)
                forget(storage, pid)
                return 0
        finally:
            os.close(held)


if __name__ == "__main__":
    sys.exit(main())
