"""A process that runs the crawl's per-page computing for it, off the crawler's core: extract() for the spider,
normalise_item() (with dedup's sketch of the result) for the normalise stage, and the archive's WARC records.

    python -m newscrawler.extract.worker FD

FD is this process's end of a socket pair. Each message, either way, is a 4-byte big-endian length and a pickle:
in, `(seq, op, site, profile, args)` (`profile` sent once per site, None after): op "extract" with args `(body,
url, headers)`, answered with an Article; op "normalise" with args `(fields,)` (the item's fields normalise_item
reads), answered with the normalised fields; op "archive" with args `(url, status, headers, body, keywords)`,
answered with the page's WARC record (newscrawler.archive.response_record). Out, `(seq, True, answer)` or `(seq,
False, exception)`. Requests are answered one at a time, in order. End of input ends the process. The crawl's side
is newscrawler/extensions/extraction.py.
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


def normalise_fields(fields: dict[str, Any], profile: Any) -> dict[str, Any]:
    """normalise_item() of an item's fields, with dedup's sketch of the result (its MinHash signature and band
    keys, the writer thread's costliest part otherwise)."""
    from newscrawler.dedup.engine import sketch
    from newscrawler.normalise.article import normalise_item

    normalise_item(fields, profile)
    fields["matchSketch"] = sketch(fields)
    return fields


def answer(seq: int, op: str, profile: Any, args: tuple) -> tuple:
    try:
        if op == "extract":
            body, url, headers = args
            return seq, True, extract(body, url, headers=headers, profile=profile)
        if op == "normalise":
            return seq, True, normalise_fields(args[0], profile)
        if op == "archive":
            from newscrawler.archive import response_record

            url, status, headers, body, extra = args
            return seq, True, response_record(url, status, headers, body, **extra)
        raise ValueError(f"unknown operation {op!r}")
    except Exception as exc:  # noqa: BLE001 - extract() raises ExtractionError; anything else is reported the same
        if op != "extract" or isinstance(exc, ExtractionError):
            return seq, False, exc
        return seq, False, ExtractionError(f"{args[1]}: {type(exc).__name__}: {exc}")


def serve(conn: socket.socket) -> None:
    profiles: dict[str, Any] = {}
    while True:
        head = read_exactly(conn, HEADER.size)
        if head is None:
            return
        payload = read_exactly(conn, HEADER.unpack(head)[0])
        if payload is None:
            return
        seq, op, site, profile, args = pickle.loads(payload)
        if profile is not None:
            profiles[site] = profile
        conn.sendall(frame(answer(seq, op, profiles.get(site), args)))


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
