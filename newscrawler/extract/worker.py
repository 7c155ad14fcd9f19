"""A process that runs extract() for another: the crawl's extraction off its own core.

    python -m newscrawler.extract.worker FD

FD is this process's end of a socket pair. Each message, either way, is a 4-byte big-endian length and a pickle:
in, `(seq, body, url, headers, site, profile)` (`profile` sent once per site, None after); out, `(seq, True,
Article)` or `(seq, False, exception)`. Requests are answered one at a time, in order. End of input ends the
process. The crawl's side is newscrawler/extensions/extraction.py.
"""

from __future__ import annotations

import pickle
import signal
import socket
import struct
import sys
from typing import Any

from newscrawler.extract import ExtractionError, extract

HEADER = struct.Struct(">I")


def read_exactly(conn: socket.socket, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = conn.recv(min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def frame(message: Any) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def answer(seq: int, body: bytes, url: str, headers: dict[str, str], profile: Any) -> tuple:
    try:
        return seq, True, extract(body, url, headers=headers, profile=profile)
    except Exception as exc:  # noqa: BLE001 - extract() raises ExtractionError; anything else is reported the same
        error = exc if isinstance(exc, ExtractionError) else ExtractionError(f"{url}: {type(exc).__name__}: {exc}")
        return seq, False, error


def serve(conn: socket.socket) -> None:
    profiles: dict[str, Any] = {}
    while True:
        head = read_exactly(conn, HEADER.size)
        if head is None:
            return
        payload = read_exactly(conn, HEADER.unpack(head)[0])
        if payload is None:
            return
        seq, body, url, headers, site, profile = pickle.loads(payload)
        if profile is not None:
            profiles[site] = profile
        conn.sendall(frame(answer(seq, body, url, headers, profiles.get(site))))


def main() -> None:
    # Its life follows the crawl's: a Ctrl-C or a SIGTERM sent to the crawl's process group is the crawl's to handle
    # (it stops gracefully, extracting what it fetched, then closes this process's input).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    conn = socket.socket(fileno=int(sys.argv[1]))
    try:
        serve(conn)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the crawl went away: nothing to answer
    finally:
        conn.close()


if __name__ == "__main__":
    main()
