"""What the tests share: running `newscrawler` in a child process, on the session's database server.

Starting the embedded database server is most of what a short child process costs (a fresh data directory:
the daemon starts twice, once to create its user, about 6-8 s; a known one about 5 s; the command itself
about 1.5 s). So by default a child is pointed at one server for the whole session (MONGO_URI) with a
database of its own per data directory (NEWSCRAWLER_DB), as a deployment with an external MongoDB runs, and
`open_store(data_dir)` opens that same database. Tests about the embedded server itself (its start, stop,
lease, supervisor, a daemon killed or frozen mid-crawl, the database on a full disk) pass `embedded=True`:
their children start the data directory's own server as a cron run does.

The session server is SecantusDB under a temporary directory, started on first use, or an external one
given as $NEWSCRAWLER_TEST_MONGO_URI; conftest.py stops it (and drops the databases made here) at the end.

Children are forked from the session's zygote (tests/zygote.py; under xdist one for all workers, started by the
controller), which has Scrapy and the package imported already: ~2.5 s of CPU less per child. `start(...,
fresh=True)`, a `prelude`, or NEWSCRAWLER_TEST_FORK=0 start a new interpreter instead; the read-only `db`
commands run in this process (`read`).

An embedded database a test's child would make from nothing is copied from the session's template instead (a
database started once, its user created: `seed_embedded`), as every run after a data directory's first finds it;
tests of the first start itself pass `first_start=True`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymongo
import pytest

from newscrawler.store import Store
from newscrawler.store.server import EmbeddedServer, ensure_server

REPO = Path(__file__).resolve().parents[1]


class SharedServer:
    """The session's database server, started on first use."""

    def __init__(self) -> None:
        self._server: EmbeddedServer | None = None
        self._storage: Path | None = None
        self._uri: str | None = None
        self.databases: set[str] = set()

    @property
    def uri(self) -> str:
        if self._uri is None:
            external = os.environ.get("NEWSCRAWLER_TEST_MONGO_URI")
            if external:
                self._uri = external
            else:
                self._storage = Path(tempfile.mkdtemp(prefix="newscrawler-test-db-"))
                if os.environ.get("PYTEST_XDIST_WORKER"):  # the template pays off once several processes copy it
                    seed_embedded(self._storage)
                self._server = ensure_server(self._storage)
                self._uri = self._server.client_uri
        return self._uri

    def database_for(self, data_dir: Path) -> str:
        """The database of a data directory's children: one per directory (a test's tmp_path is unique)."""
        name = "t_" + hashlib.sha1(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
        self.databases.add(name)
        return name

    def stop(self) -> None:
        if self._uri is None:
            return
        if self._server is None:  # an external server: leave it as it was found
            client = pymongo.MongoClient(self._uri, serverSelectionTimeoutMS=5000)
            try:
                for name in self.databases:
                    client.drop_database(name)
            finally:
                client.close()
        else:
            self._server.stop()
            shutil.rmtree(self._storage, ignore_errors=True)
        self._server = self._storage = self._uri = None
        self.databases.clear()


SHARED = SharedServer()

# The directory the whole session shares, every xdist worker included (conftest.py makes it in the controller):
# the zygote's socket, the embedded database template.
SESSION_ENV = "NEWSCRAWLER_TEST_SESSION"


def session_dir() -> Path:
    path = os.environ.get(SESSION_ENV)
    if not path:
        path = os.environ[SESSION_ENV] = tempfile.mkdtemp(prefix="newscrawler-test-session-")
    return Path(path)


def _embedded_template() -> Path:
    """A stopped embedded database whose first start is done (its user created), made once per session."""
    import fcntl

    base = session_dir() / "embedded"
    with open(session_dir() / "embedded.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one worker makes it, the others wait for it
        if not (base / "ready").exists():
            shutil.rmtree(base, ignore_errors=True)
            ensure_server(base / "data").stop()
            for name in ("server.json", "server.lease", "server.lock"):
                (base / "data" / "db" / name).unlink(missing_ok=True)
            (base / "ready").touch()
    return base / "data" / "db"


def seed_embedded(data_dir: Path) -> None:
    """Give a new data directory a database that has been started before (its user exists), as every run after
    the first finds it: a first start runs the daemon twice (~2 s of CPU, ~3 s), and it is tested by itself
    (`first_start=True`; test_faults_server), not paid again by every test that starts an embedded server."""
    if (data_dir / "db").exists():
        return
    template = _embedded_template()
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(template, data_dir / "db", symlinks=True)


def child_env(data_dir: Path, env: dict | None = None, embedded: bool = False,
              first_start: bool = False) -> dict[str, str]:
    """The environment of a child on `data_dir`: this process's, the session server unless `embedded` (or
    unless `env` names a database of its own: MONGO_URI or MONGO_HOST), then `env`. An embedded database not
    made yet is copied from the session's template unless `first_start`."""
    full = dict(os.environ)
    if embedded:
        if not first_start:
            seed_embedded(Path(data_dir))
        full.pop("MONGO_URI", None)
        full.pop("NEWSCRAWLER_DB", None)
    elif not {"MONGO_URI", "MONGO_HOST"} & set(env or {}):
        full.update(MONGO_URI=SHARED.uri, NEWSCRAWLER_DB=SHARED.database_for(data_dir))
    return {**full, **(env or {})}


# Set by conftest.py for each test: whether it is marked e2e (the only tests that may start a child).
CHILDREN_ALLOWED = True


def command(data_dir: Path | None, *args: str, prelude: str = "") -> list[str]:
    """`python -m newscrawler [--data-dir DATA_DIR] ARGS…`; with a `prelude`, Python run in the child first (a
    monkeypatch, or a package made unimportable), then the CLI's main()."""
    if not CHILDREN_ALLOWED:
        raise RuntimeError("a test not marked e2e starts newscrawler in a child process: mark it "
                           "@pytest.mark.e2e (make test-fast leaves those out)")
    where = ["--data-dir", str(data_dir)] if data_dir is not None else []
    if prelude:
        code = f"import sys\n{prelude}\nfrom newscrawler.cli import main\nsys.exit(main(sys.argv[1:]))"
        return [sys.executable, "-c", code, *where, *args]
    return [sys.executable, "-m", "newscrawler", *where, *args]


def _env_for(data_dir: Path | None, env: dict | None, embedded: bool, first_start: bool = False) -> dict[str, str]:
    """A command's environment: the data directory's child environment, or (no data directory) this process's."""
    if data_dir is None:
        return {**os.environ, **(env or {})}
    return child_env(data_dir, env, embedded, first_start)


def forking() -> bool:
    return os.environ.get("NEWSCRAWLER_TEST_FORK", "1") != "0"


def newscrawler(data_dir: Path | None, *args: str, env: dict | None = None, timeout: float = 240,
                embedded: bool = False, prelude: str = "", first_start: bool = False,
                **kwargs) -> subprocess.CompletedProcess:
    """`newscrawler --data-dir DATA_DIR ARGS…` in a child process to the end, output captured. No data
    directory (None): a command that needs none, in this process's environment. The child is forked from the
    worker's zygote (tests/zygote.py: Scrapy and the rest imported once) unless a `prelude` or other subprocess
    options are given, or NEWSCRAWLER_TEST_FORK=0."""
    full_env = _env_for(data_dir, env, embedded, first_start)
    argv = command(data_dir, *args, prelude=prelude)
    if prelude or kwargs or not forking():
        return subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO,
                              **kwargs)
    return ZYGOTE.run(argv, argv[3:], full_env, timeout)


class Zygote:
    """The fork server (tests/zygote.py). Under xdist the controller starts one for all its workers (`start`,
    from conftest.py; they find its socket in the session directory); otherwise it starts on first use."""

    SOCKET = "zygote.sock"

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None

    def start(self, directory: Path) -> None:
        """Start it in `directory` without waiting: it imports while the workers start and collect."""
        with (directory / "zygote.log").open("w") as log:
            self._proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "zygote.py"),
                                           str(directory / self.SOCKET)],
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log, cwd=REPO)

    def _socket(self) -> Path:
        if self._proc is None and not (session_dir() / "zygote.log").exists():
            self.start(session_dir())  # no controller started one: this process is the whole session
        return session_dir() / self.SOCKET

    def _connect(self) -> socket.socket:
        path = self._socket()
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        deadline = time.monotonic() + 60
        while True:
            try:
                conn.connect(str(path))
                return conn
            except (FileNotFoundError, ConnectionRefusedError):
                log = path.with_name("zygote.log")
                said = log.read_text(errors="replace") if log.exists() else ""
                died = self._proc is not None and self._proc.poll() is not None
                if died or "Traceback" in said or "zygote:" in said or time.monotonic() > deadline:
                    conn.close()
                    raise RuntimeError(f"the tests' zygote at {path} does not answer: {said[-3000:]}") from None
                time.sleep(0.05)  # still importing

    def popen(self, argv: list[str], cli_args: list[str], env: dict[str, str], stdin: int, stdout: int, stderr: int,
              module: str = "newscrawler") -> ForkedProcess:
        """A child forked with these descriptors as its standard input, output and error (the caller's to close)."""
        conn = self._connect()
        try:
            request = {"module": module, "argv": cli_args, "env": env, "cwd": str(REPO)}
            socket.send_fds(conn, [json.dumps(request).encode()], [stdin, stdout, stderr])
            pid = json.loads(conn.recv(4096))["pid"]
        except BaseException:
            conn.close()
            raise
        return ForkedProcess(argv, pid, conn)

    def run(self, argv: list[str], cli_args: list[str], env: dict[str, str], timeout: float,
            module: str = "newscrawler") -> subprocess.CompletedProcess:
        out_dir = Path(tempfile.mkdtemp(prefix="newscrawler-child-"))
        try:
            with open(os.devnull, "rb") as null, (out_dir / "stdout").open("wb") as out, \
                    (out_dir / "stderr").open("wb") as err:
                proc = self.popen(argv, cli_args, env, null.fileno(), out.fileno(), err.fileno(), module)
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)  # its status, so the connection to the zygote is closed
                raise subprocess.TimeoutExpired(argv, timeout, _read(out_dir / "stdout"),
                                                _read(out_dir / "stderr")) from None
            return subprocess.CompletedProcess(argv, code, _read(out_dir / "stdout"), _read(out_dir / "stderr"))
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    def stop(self) -> None:
        """Stop it if this process started it (its files go with the session directory)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(30)
            self._proc = None


class ForkedProcess:
    """What a test does with a subprocess.Popen (pid, poll, wait, communicate, send_signal, kill, terminate,
    stdout/stderr pipes), for a child forked by the zygote: its exit status comes over the zygote's socket."""

    def __init__(self, args: list[str], pid: int, conn: socket.socket) -> None:
        self.args, self.pid, self._conn = args, pid, conn
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None

    def _collect(self, timeout: float | None) -> None:
        self._conn.settimeout(timeout)
        try:
            reply = self._conn.recv(4096)
        except TimeoutError:
            raise subprocess.TimeoutExpired(self.args, timeout) from None
        self.returncode = json.loads(reply)["code"] if reply else -signal.SIGKILL  # the zygote itself was killed
        self._conn.close()

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._conn], [], [], 0)[0]:
            self._collect(None)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            self._collect(timeout)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str | None, str | None]:
        """Read the pipes to their end (each in a thread, as Popen does), then the exit status."""
        import threading

        deadline = None if timeout is None else time.monotonic() + timeout
        results: dict[str, str] = {}
        readers = [threading.Thread(target=lambda n=name, f=stream: results.__setitem__(n, f.read()), daemon=True)
                   for name, stream in (("stdout", self.stdout), ("stderr", self.stderr)) if stream is not None]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
            if reader.is_alive():
                raise subprocess.TimeoutExpired(self.args, timeout)
        self.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        for stream in (self.stdout, self.stderr):
            if stream is not None:
                stream.close()
        return results.get("stdout"), results.get("stderr")


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace") if path.exists() else ""


ZYGOTE = Zygote()


def read(data_dir: Path, *args: str, env: dict | None = None, embedded: bool = False) -> subprocess.CompletedProcess:
    """A command that only reads (`db stats`, `runs`, `find`, `show`, `export`, `clusters`, `health`: `exit_fast`
    in its defaults) run as `newscrawler(...)` would run it, but in this process, output captured: a child costs
    ~0.7 s of CPU to start Python and import pymongo, and the suite reads a lot. The store is the same one over
    TCP, chosen by the same environment (set for the call, then restored)."""
    from newscrawler.cli import _main

    argv = [*(["--data-dir", str(data_dir)] if data_dir is not None else []), *args]
    command(data_dir)  # the same rule as a child: only in tests marked e2e
    full_env = _env_for(data_dir, env, embedded)
    saved = dict(os.environ)
    out, err = io.StringIO(), io.StringIO()
    parsed = None
    try:
        os.environ.clear()
        os.environ.update(full_env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code, parsed = _main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.environ.clear()
        os.environ.update(saved)
    if parsed is not None and not getattr(parsed, "exit_fast", False):
        raise RuntimeError(f"kit.read runs only the commands that only read, not {' '.join(args)!r}")
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def scrapy(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess:
    """`python -m scrapy ARGS…` to the end in `env` (scrapy_env gives the data directory's), output captured;
    forked from the zygote like `newscrawler(...)` unless NEWSCRAWLER_TEST_FORK=0."""
    argv = [sys.executable, "-m", "scrapy", *args]
    command(None)  # the same rule as every child: only in tests marked e2e
    if not forking():
        return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout, cwd=REPO,
                              errors="replace")  # `scrapy fetch` prints a GBK page's bytes
    return ZYGOTE.run(argv, list(args), env, timeout, module="scrapy")


def crawl(data_dir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return newscrawler(data_dir, "crawl", *args, **kwargs)


def start(data_dir: Path, *args: str, env: dict | None = None, embedded: bool = False, fresh: bool = False,
          first_start: bool = False, **kwargs) -> subprocess.Popen | ForkedProcess:
    """`python -m newscrawler --data-dir DATA_DIR ARGS…` started, stdout and stderr piped as text (or as
    `stdout=`/`stderr=` say: PIPE, DEVNULL or None). Forked from the zygote unless `fresh` (a test about the
    start-up itself: a new interpreter, as cron starts it) or NEWSCRAWLER_TEST_FORK=0. `first_start`: a new
    embedded database is made by the child, not copied (see child_env)."""
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    argv, full_env = command(data_dir, *args), child_env(data_dir, env, embedded, first_start)
    if fresh or set(kwargs) - {"stdout", "stderr"} or not forking():
        return subprocess.Popen(argv, text=True, cwd=REPO, env=full_env, **kwargs)
    ours: list[int] = []  # descriptors the child gets and this process closes once it has them
    pipes: dict[str, int] = {}
    child_fds = []
    with open(os.devnull, "rb") as null:
        for name, default_fd in (("stdout", 1), ("stderr", 2)):
            how = kwargs[name]
            if how == subprocess.PIPE:
                read_end, write_end = os.pipe()
                pipes[name] = read_end
                ours.append(write_end)
                child_fds.append(write_end)
            elif how == subprocess.DEVNULL:
                fd = os.open(os.devnull, os.O_WRONLY)
                ours.append(fd)
                child_fds.append(fd)
            else:
                child_fds.append(default_fd)
        try:
            proc = ZYGOTE.popen(argv, argv[3:], full_env, null.fileno(), *child_fds)
        finally:
            for fd in ours:
                os.close(fd)
    for name, read_end in pipes.items():
        setattr(proc, name, open(read_end, encoding="utf-8", errors="replace"))  # noqa: SIM115 - the caller's
    return proc


def scrapy_env(data_dir: Path, env: dict | None = None, embedded: bool = False,
               first_start: bool = False) -> dict[str, str]:
    """The environment of a `scrapy crawl portal` child on `data_dir` (it takes the data directory from it)."""
    return child_env(data_dir, {"NEWSCRAWLER_DATA_DIR": str(data_dir), **(env or {})}, embedded, first_start)


def open_store(data_dir: Path, embedded: bool = False) -> Store:
    """The store the children on `data_dir` use (a context manager)."""
    if embedded:
        seed_embedded(Path(data_dir))
        return Store.open(data_dir=data_dir)
    return Store.open(SHARED.uri, data_dir=data_dir, db_name=SHARED.database_for(data_dir))


def logs(data_dir: Path) -> str:
    """Every run log of the data directory, oldest first (run without a terminal, as cron runs them, a
    command writes its log lines there; stderr gets only a summary when the run fails)."""
    return "".join(p.read_text(encoding="utf-8", errors="replace")
                   for p in sorted((data_dir / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime))


def last_log(data_dir: Path) -> str:
    paths = sorted((data_dir / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)
    return paths[-1].read_text(encoding="utf-8", errors="replace") if paths else ""


# -- a SecantusDB daemon of a test's own (a server with users the test makes) ------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_daemon(storage: Path, port: int, *extra: str) -> subprocess.Popen:
    """A bare secantusd-py on `storage` (no supervisor, no user unless the test makes one), once it listens."""
    exe = str(Path(sys.executable).with_name("secantusd-py"))
    proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(storage),
                             "--standalone", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the authenticated test server did not start")


def stop_daemon(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


# A mongo-init script run as mongosh would, with a `db` that records the users it is asked to create.
_MONGO_INIT_RUNNER = """
const vm = require("vm"), fs = require("fs");
const calls = [];
const db = {getSiblingDB: (name) => ({getName: () => name, createUser: (u) => calls.push({db: name, ...u})})};
try {
  vm.runInNewContext(fs.readFileSync(process.argv[2], "utf8"), {db, require, process, print: () => {}});
  console.log(JSON.stringify(calls));
} catch (e) { console.log(JSON.stringify({error: String(e.message)})); }
"""


def run_mongo_init(script: str, env: dict[str, str], tmp_path: Path):
    """Run docker/mongo-init/`script` under node; the users it created (a list) or {"error": message}. Skips
    the test where node is not installed."""
    import json

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the init script is not run")
    runner = tmp_path / "mongo-init-runner.js"
    runner.write_text(_MONGO_INIT_RUNNER)
    out = subprocess.run([node, str(runner), str(REPO / "docker" / "mongo-init" / script)], capture_output=True,
                         text=True, env={**os.environ, **env}, timeout=60)
    assert out.stdout, out.stderr
    return json.loads(out.stdout)
