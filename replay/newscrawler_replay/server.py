"""Serve a recording over HTTP as a forward proxy, so crawlers fetch the *real* portal URLs unchanged.

Clients send absolute-URI requests (`GET http://www.jzrb.com/news/... HTTP/1.1`, what Scrapy sends to an
`http_proxy`) or origin-form requests with a Host header; both are answered from the recording by host and
path. Responses are prebuilt bytes in memory and the connection handling is a bare asyncio protocol with
keep-alive: the crawl benchmark measures the crawler, so the server must not be the bottleneck.

Requests to the server's own address under `/__replay__/` are control calls: `counts` (JSON of requests per
URL), `reset`, `reload` and `faults` (the injected faults as JSON; `faults?add=URL%3DKIND` adds one,
`faults?clear` removes them all). They let a test ask a server running in another process what was fetched,
and change what it does wrong (see faults.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import IO
from urllib.parse import parse_qs, urlsplit

from newscrawler_replay.faults import Fault, ctrl_body, filler, huge_body, parse_fault, status_body

REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 400: "Bad Request", 404: "Not Found",
           405: "Method Not Allowed", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout"}
SERVER = b"Server: newscrawler-replay\r\n"
CONTROL = "/__replay__/"
MAX_HEAD = 64 * 1024


def _response(status: int, content_type: str, body: bytes, location: str = "") -> tuple[bytes, bytes]:
    """(head without the Connection header and the blank line, body)."""
    head = f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    if location:
        head += f"Location: {location}\r\n"
    head += f"Content-Length: {len(body)}\r\n"
    return head.encode("latin-1") + SERVER, body


NOT_FOUND = _response(404, "text/html; charset=utf-8", b"<html><body><h1>404 Not Found</h1></body></html>")
BAD_REQUEST = _response(400, "text/plain", b"bad request\n")
NOT_ALLOWED = _response(405, "text/plain", b"only GET and HEAD of http:// URLs are replayed\n")
# What a connection does instead of answering, for the `stall` and `reset` faults.
STALL = "stall"
RESET = "reset"


class Recording:
    """A recording directory loaded into memory: url → prebuilt response."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        index = json.loads((self.directory / "routes.json").read_text(encoding="utf-8"))
        self.aliases: dict[str, str] = dict(index.get("aliases", {}))
        self.responses: dict[str, tuple[bytes, bytes]] = {}
        # url → (status, content type, body): what the `huge` and `ctrl` faults rewrite.
        self.routes: dict[str, tuple[int, str, bytes]] = {}
        pages = self.directory / "pages"
        for r in index["routes"]:
            body = (pages / r["file"]).read_bytes() if r.get("file") else b""
            self.responses[r["url"]] = _response(r["status"], r.get("contentType", ""), body, r.get("location", ""))
            self.routes[r["url"]] = (r["status"], r.get("contentType", ""), body)

    def __len__(self) -> int:
        return len(self.responses)

    def _key(self, url: str, table: dict) -> str | None:
        if url in table:
            return url
        parts = urlsplit(url)
        alias = self.aliases.get(parts.hostname or "")
        if alias:
            aliased = url.replace(f"//{parts.netloc}", f"//{alias}", 1)
            if aliased in table:
                return aliased
        return None

    def lookup(self, url: str) -> tuple[bytes, bytes] | None:
        key = self._key(url, self.responses)
        return self.responses[key] if key else None

    def route(self, url: str) -> tuple[int, str, bytes] | None:
        """(status, content type, body) recorded for url, or None."""
        key = self._key(url, self.routes)
        return self.routes[key] if key else None


def normalise_target(target: str, host_header: str) -> str | None:
    """The absolute http URL a request line names (absolute-URI or origin-form + Host), or None."""
    if target.startswith("/"):
        if not host_header:
            return None
        target = f"http://{host_header}{target}"
    parts = urlsplit(target)
    if parts.scheme.lower() != "http" or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if parts.port not in (None, 80):
        host = f"{host}:{parts.port}"
    url = f"http://{host}{parts.path or '/'}"
    return f"{url}?{parts.query}" if parts.query else url


class _Connection(asyncio.Protocol):
    def __init__(self, server: ReplayServer):
        self.server = server
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.stalled = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.stalled:
            return  # a stalled connection reads on and never answers
        self.buf += data
        while self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self._send(BAD_REQUEST, keep=False, head_only=False)
                return
            lines = self.buf[:end].decode("latin-1").split("\r\n")
            rest = self.buf[end + 4:]
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if len(rest) < length:
                return  # wait for the (ignored) request body
            self.buf = rest[length:]
            parts = lines[0].split(" ")
            if len(parts) != 3:
                self._send(BAD_REQUEST, keep=False, head_only=False)
                return
            method, target, version = parts
            conn = (headers.get("connection") or headers.get("proxy-connection") or "").lower()
            keep = ("close" not in conn) if version == "HTTP/1.1" else ("keep-alive" in conn)
            response = self.server.respond(method, target, headers.get("host", ""))
            if response == STALL:
                self.stalled = True
                self.server._stalled.add(self.transport)
                return
            if response == RESET:
                self._reset()
                return
            self._send(response, keep=keep, head_only=method == "HEAD")
            if not keep:
                return

    def _reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0), as a crashed server or a middlebox does, not a clean FIN."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()
        self.transport = None

    def _send(self, response: tuple[bytes, bytes], *, keep: bool, head_only: bool) -> None:
        head, body = response
        conn = b"Connection: keep-alive\r\n\r\n" if keep else b"Connection: close\r\n\r\n"
        self.transport.write(head + conn if head_only else head + conn + body)
        if not keep:
            self.transport.close()
            self.transport = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.stalled:
            self.server._stalled.discard(self.transport)
        self.transport = None


class ReplayServer:
    """The recording served from 127.0.0.1 as an HTTP forward proxy, in a background thread.

    `with ReplayServer(dir) as srv:` then point the crawler at `srv.proxy_url`. `ReplayServer.spawn(dir)`
    runs the same server in a child process instead (its own GIL), with the same counting API.
    """

    def __init__(self, recording_dir: str | Path, host: str = "127.0.0.1", port: int = 0,
                 faults: list[Fault | str] | tuple = ()):
        self.recording = Recording(recording_dir)
        self.host = host
        self.port = port
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        for fault in faults:
            self.add_fault(fault)
        self._stalled: set[asyncio.BaseTransport] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._own = {f"{host}:{port}", f"localhost:{port}"}

    # ------------------------------------------------------------ answering
    def respond(self, method: str, target: str, host_header: str) -> tuple[bytes, bytes] | str:
        """The response for one request, or STALL / RESET when a fault says not to answer."""
        if method not in ("GET", "HEAD"):
            return NOT_ALLOWED
        url = normalise_target(target, host_header)
        if url is None:
            return BAD_REQUEST
        parts = urlsplit(url)
        if parts.netloc in self._own and parts.path.startswith(CONTROL):
            return self._control(parts.path[len(CONTROL):], parse_qs(parts.query, keep_blank_values=True))
        with self._lock:
            self._counts[url] += 1
            faults = list(self._faults)
        for fault in faults:
            if fault.take(url):
                return self._faulty(fault, url)
        return self.recording.lookup(url) or NOT_FOUND

    def _faulty(self, fault: Fault, url: str) -> tuple[bytes, bytes] | str:
        if fault.kind in (STALL, RESET):
            return fault.kind
        if fault.kind == "status":
            return _response(fault.status, "text/html; charset=utf-8", status_body(fault.status))
        route = self.recording.route(url)
        status, ctype, body = route if route is not None and route[0] == 200 else (200, "", b"")
        if fault.kind == "huge":
            rewritten = huge_body(body if "html" in ctype else None, url)
            return _response(200, ctype if "html" in ctype else "text/html; charset=utf-8", rewritten)
        spiked = ctrl_body(body)  # "ctrl"
        return _response(status, ctype, spiked) if spiked is not None else (self.recording.lookup(url) or NOT_FOUND)

    # ------------------------------------------------------------ faults
    def add_fault(self, fault: Fault | str) -> Fault:
        """Inject a fault from now on (a Fault or its `URL=KIND[:N]` spec); ValueError for a malformed spec."""
        fault = parse_fault(fault) if isinstance(fault, str) else fault
        if fault.kind == "huge":
            # Made now rather than on the first request, which would hold up the server's loop for a second or two.
            for codec in ("utf-8", "gb18030"):
                filler(codec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def faults(self) -> list[dict]:
        """The injected faults with how often each URL got one so far."""
        with self._lock:
            return [f.describe() for f in self._faults]

    def _control(self, command: str, query: dict[str, list[str]]) -> tuple[bytes, bytes]:
        if command == "faults":
            if "clear" in query:
                self.clear_faults()
            for spec in query.get("add", []):
                try:
                    self.add_fault(spec)
                except ValueError as exc:
                    return _response(400, "application/json", json.dumps({"error": str(exc)}).encode())
            return _response(200, "application/json", json.dumps(self.faults).encode())
        if command == "counts":
            return _response(200, "application/json", json.dumps(self.counts).encode())
        if command == "reset":
            self.reset_counts()
            return _response(200, "application/json", b"{}")
        if command == "reload":
            self.reload()
            return _response(200, "application/json", json.dumps({"routes": len(self.recording)}).encode())
        return NOT_FOUND

    def reload(self) -> None:
        """Serve the recording directory afresh (e.g. after generating version 2 into it), same port."""
        self.recording = Recording(self.recording.directory)

    # ------------------------------------------------------------ counting
    @property
    def counts(self) -> dict[str, int]:
        """Requests so far per URL (absolute http URL, lower-case host), control calls excluded."""
        with self._lock:
            return dict(self._counts)

    def count(self, url: str) -> int:
        return self.counts.get(normalise_target(url, "") or url, 0)

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    # ------------------------------------------------------------ lifecycle
    @property
    def proxy_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def _open(self) -> None:
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Connection(self), self.host, self.port, reuse_address=True, backlog=1024)
        self.port = self._server.sockets[0].getsockname()[1]
        self._own = {f"{self.host}:{self.port}", f"localhost:{self.port}"}

    def start(self) -> ReplayServer:
        """Listen in a background thread; returns once the port is bound."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._open())
            except BaseException as exc:  # reported to start() below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            self._server.close()
            loop.run_until_complete(self._server.wait_closed())
            loop.close()

        self._thread = threading.Thread(target=run, name="replay-server", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def _close_stalled(self) -> None:
        for transport in list(self._stalled):
            transport.abort()
        self._stalled.clear()

    def stop(self) -> None:
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._close_stalled)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def serve_forever(self, ready_message: bool = True) -> None:
        """Run in the calling thread until interrupted (the `serve` command)."""
        loop = asyncio.new_event_loop()
        self._loop = loop
        loop.run_until_complete(self._open())
        if ready_message:
            print(f"replay: {len(self.recording)} recorded URLs from {self.recording.directory} "
                  f"proxy {self.proxy_url}", flush=True)
        try:
            loop.run_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.close()
            loop.close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @classmethod
    def spawn(cls, recording_dir: str | Path, port: int = 0, faults: list[str] | tuple = ()) -> SpawnedReplayServer:
        return SpawnedReplayServer(recording_dir, port, faults).start()


class SpawnedReplayServer:
    """A ReplayServer in a child process (`python -m newscrawler_replay serve`), same counting API."""

    def __init__(self, recording_dir: str | Path, port: int = 0, faults: list[str] | tuple = ()):
        self.recording_dir = Path(recording_dir)
        self.port = port
        self.fault_specs = list(faults)
        self.process: subprocess.Popen | None = None
        self._stderr: IO[bytes] | None = None
        self.proxy_url = ""

    def start(self) -> SpawnedReplayServer:
        if self.process is not None:
            return self
        env = dict(os.environ)
        # The child must import this package, and newscrawler, even when they are not installed (a checkout):
        # replay/ holds newscrawler_replay, the checkout's root newscrawler.
        here = Path(__file__).resolve()
        roots = (str(here.parents[1]), str(here.parents[2]))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (*roots, env.get("PYTHONPATH", "")) if p)
        # stderr goes to a file: a pipe nobody reads would block the server once it filled up.
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "newscrawler_replay", "serve", str(self.recording_dir), "--port", str(self.port),
             *(arg for spec in self.fault_specs for arg in ("--fault", spec))],
            stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env)
        line = self.process.stdout.readline()
        if "proxy http://" not in line:
            self.process.wait(timeout=10)
            self._stderr.seek(0)
            err = self._stderr.read().decode(errors="replace")
            self.stop()
            raise RuntimeError(f"replay server did not start: {line.strip()} {err.strip()}")
        self.proxy_url = line.rsplit("proxy ", 1)[1].strip()
        self.port = int(self.proxy_url.rsplit(":", 1)[1])
        return self

    def _control(self, command: str) -> dict | list:
        # Straight to the server, never through an http_proxy from the environment.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"{self.proxy_url}{CONTROL}{command}", timeout=10) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 400:
                raise ValueError(json.loads(exc.read())["error"]) from None
            raise

    def add_fault(self, spec: str) -> None:
        """Inject a fault (`URL=KIND[:N]`) from now on; ValueError for a malformed spec."""
        self._control("faults?add=" + urllib.parse.quote(spec, safe=""))

    def clear_faults(self) -> None:
        self._control("faults?clear")

    @property
    def faults(self) -> list[dict]:
        return self._control("faults")

    @property
    def counts(self) -> dict[str, int]:
        return self._control("counts")

    def count(self, url: str) -> int:
        return self.counts.get(normalise_target(url, "") or url, 0)

    def reset_counts(self) -> None:
        self._control("reset")

    def reload(self) -> None:
        self._control("reload")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self._stderr.close()
        self.process = None

    def __enter__(self) -> SpawnedReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
