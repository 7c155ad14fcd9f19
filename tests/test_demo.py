"""`newscrawler demo`: the README's quick start, end to end (its own file so that it runs beside the rest of the
crawl tests, not after them: it is the suite's longest test)."""

from __future__ import annotations

import re

import pytest
from kit import newscrawler

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)


def test_demo_stores_everything_the_replay_publishes_and_runs_again(tmp_path):
    # The demo keeps a data directory of its own for its last step: on embedded servers, as it runs for a user.
    first = newscrawler(tmp_path, "demo", "--articles-per-site", "5", embedded=True)
    assert first.returncode == 0, first.stderr[-2000:]
    match = re.search(r"stored (\d+) articles \((\d+) of the (\d+) the replay publishes\)", first.stdout)
    assert match and len(set(match.groups())) == 1 and int(match.group(1)) >= 20
    assert "stories found on more than one URL: " in first.stdout
    # The demo's last step: a redesigned portal caught by the health monitors (issue 8).
    assert "the crawl exited 4 (a portal degraded)" in first.stdout
    assert re.search(r"^dahe +degraded .*\n(?: .*\n)* +selector\.articleBody: ", first.stdout, re.M)
    again = newscrawler(tmp_path, "demo", embedded=True)  # an existing checkout: the recording is reused, nothing new
    assert again.returncode == 0 and "articles new 0" in again.stdout
