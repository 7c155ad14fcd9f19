"""What the fault-injection tests (test_faults_*.py) share: running `newscrawler` in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def newscrawler(data_dir: Path, *args: str, env: dict | None = None, timeout: float = 240,
                **kwargs) -> subprocess.CompletedProcess:
    """`python -m newscrawler --data-dir DATA_DIR ARGS…` to the end, output captured."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "newscrawler", "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO, **kwargs)


def crawl(data_dir: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return newscrawler(data_dir, "crawl", *args, **kwargs)


def logs(data_dir: Path) -> str:
    """Every run log of the data directory, oldest first (run without a terminal, as cron runs them, a
    command writes its log lines there; stderr gets only a summary when the run fails)."""
    return "".join(p.read_text(encoding="utf-8", errors="replace")
                   for p in sorted((data_dir / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime))


def last_log(data_dir: Path) -> str:
    paths = sorted((data_dir / "logs").glob("*.log"), key=lambda p: p.stat().st_mtime)
    return paths[-1].read_text(encoding="utf-8", errors="replace") if paths else ""
