"""Offline replay of the shipped portals: a generated recording and an HTTP proxy that serves it.

    generate(out_dir, articles_per_site=40, seed=0, version=1) -> manifest dict
    with ReplayServer(out_dir) as srv: ...   # point Scrapy at srv.proxy_url
    ReplayServer.spawn(out_dir)              # same server in a child process
    load_manifest(out_dir) -> manifest dict
"""

import json
from pathlib import Path

from newscrawler_replay.generate import generate
from newscrawler_replay.server import Recording, ReplayServer, SpawnedReplayServer

__all__ = ["Recording", "ReplayServer", "SpawnedReplayServer", "generate", "load_manifest"]


def load_manifest(recording_dir: str | Path) -> dict:
    return json.loads((Path(recording_dir) / "manifest.json").read_text(encoding="utf-8"))
