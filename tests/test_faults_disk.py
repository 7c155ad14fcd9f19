"""Issue 12 item 4: a full disk or an unwritable folder. Checked before the crawl starts (a clear one-line
exit), and a disk that fills mid-crawl loses nothing without a record and floods nothing: real crawls on a
size-limited tmpfs (root only: the tests are skipped where tmpfs cannot be mounted)."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from pathlib import Path

import pytest
from kit import crawl, open_store

from newscrawler_replay.generate import generate

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

# Every run here makes its database on the limited disk itself (first_start: not copied from the tests' template).


def _mount(target: Path, options: str) -> bool:
    target.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                          capture_output=True).returncode == 0


@contextmanager
def tmpfs(target: Path, options: str):
    if os.geteuid() != 0 or not _mount(target, options):
        pytest.skip("needs root to mount a tmpfs")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True)


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("rec")
    # 411 articles: the disk (4 MB left) fills after the first batch of 200 is stored (measured: 200 stored).
    return base, generate(base, articles_per_site=100)


@pytest.mark.parametrize("folder", ["logs", "spill", "db"])
def test_an_unwritable_folder_stops_the_run_before_it_starts(tmp_path, rec, folder):
    data = tmp_path / "data"
    with tmpfs(data / folder, "ro,size=1m"):
        result = crawl(data, "hnr", "--replay", str(rec[0]), embedded=True, first_start=True)
    assert result.returncode == 2
    what = {"logs": "its log", "spill": "what the database cannot take", "db": "the database"}[folder]
    assert result.stderr.strip() == (f"newscrawler: cannot write to {data / folder}: Read-only file system; the run "
                                      f"could not keep {what} (see --data-dir)")


def test_too_little_free_space_stops_the_run_before_it_starts(tmp_path, rec):
    with tmpfs(tmp_path / "data", "size=8m") as data:
        result = crawl(data, "hnr", "--replay", str(rec[0]), env={"NEWSCRAWLER_MIN_FREE_MB": "20"},
                       embedded=True, first_start=True)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"newscrawler: only 8 MB free for {data}; a run needs at least 20 MB")


def test_a_disk_that_fills_mid_crawl_loses_nothing_and_floods_nothing(tmp_path, rec):
    rec_dir, manifest = rec
    env = {"NEWSCRAWLER_MIN_FREE_MB": "2"}
    with tmpfs(tmp_path / "data", "size=64m") as data:
        ballast = data / "ballast"
        with ballast.open("wb") as fh:  # leaves about 4 MB: enough to start, not for the whole crawl
            fh.write(b"\0" * (60 * 2**20))
        # Batches of 100 (500 by default): some are written before the disk fills, the rest are not.
        full = crawl(data, "--replay", str(rec_dir), "-s", "STORE_BATCH_SIZE=100", env=env, embedded=True,
                     first_start=True)
        assert full.returncode == 3, full.stderr[-3000:]
        assert "Logging error" not in full.stderr and "Traceback" not in full.stderr
        assert "No space left on device" in full.stderr
        assert max(len(line) for line in full.stderr.splitlines()) < 10_000
        # Space is freed: the next run stores everything, each article once.
        ballast.unlink()
        with open_store(data, embedded=True) as store:
            partial = store.articles.count()
        assert 0 < partial < len(manifest["articles"])
        again = crawl(data, "--replay", str(rec_dir), env=env, embedded=True)
        assert again.returncode == 0, again.stderr[-3000:]
        with open_store(data, embedded=True) as store:
            assert store.articles.count() == len(manifest["articles"])
            assert all(store.articles.find(a["url"]) for a in manifest["articles"])
