"""Measure how many requests per second a replay server answers (`python -m newscrawler_replay bench DIR`).

The client is a bare asyncio loop over keep-alive connections sending proxy-form requests, the way Scrapy
talks to an http_proxy; the server runs in its own process so the two do not share a GIL.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlsplit


async def _client(host: str, port: int, urls: list[str], start: int, step: int, deadline: float,
                  done: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = start
    try:
        while time.perf_counter() < deadline:
            url = urls[i % len(urls)]
            i += step
            writer.write(f"GET {url} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\nAccept-Encoding: gzip\r\n\r\n"
                         .encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            done[0] += 1
    finally:
        writer.close()


async def _run(proxy_url: str, urls: list[str], seconds: float, connections: int) -> int:
    parts = urlsplit(proxy_url)
    done = [0]
    deadline = time.perf_counter() + seconds
    await asyncio.gather(*(_client(parts.hostname, parts.port, urls, c, connections, deadline, done)
                           for c in range(connections)))
    return done[0]


def bench(recording_dir: str | Path, seconds: float = 5.0, connections: int = 16) -> dict:
    """Requests/s of a spawned server answering article pages of the recording."""
    from newscrawler_replay.server import ReplayServer

    manifest = json.loads((Path(recording_dir) / "manifest.json").read_text(encoding="utf-8"))
    urls = [a["url"] for a in manifest["articles"]]
    with ReplayServer.spawn(recording_dir) as srv:
        t0 = time.perf_counter()
        n = asyncio.run(_run(srv.proxy_url, urls, seconds, connections))
        elapsed = time.perf_counter() - t0
    return {"requests": n, "seconds": round(elapsed, 2), "per_second": round(n / elapsed),
            "connections": connections}
