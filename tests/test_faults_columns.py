"""Issue 12 item 1: a failed listing or article page never leaves a permanent gap.

Real crawls (`newscrawler crawl --replay DIR --fault …` in a child process) of a replay recording, into the
embedded store: the run with the fault, then the run without it, and what each fetched and stored.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kit import crawl, last_log, open_store

from newscrawler_replay.generate import generate
from newscrawler_replay.server import ReplayServer

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

LYD_COLUMN = "http://news.lyd.com.cn/lyxw/"


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> tuple[Path, dict]:
    """lyd with 62 articles: a column four pages deep, multi-page articles near its end."""
    base = tmp_path_factory.mktemp("rec")
    return base, generate(base, articles_per_site=60)


def lyd(manifest: dict) -> list[dict]:
    return [a for a in manifest["articles"] if a["site"] == "lyd"]


def links_on(rec_dir: Path, page: str) -> list[str]:
    html = (rec_dir / "pages" / "news.lyd.com.cn" / "lyxw" / page).read_text(encoding="gb18030")
    return list(dict.fromkeys(re.findall(r'href="(http://news\.lyd\.com\.cn/system/[^"]+)"', html)))


def test_a_failed_listing_page_is_walked_again_until_the_column_is_whole(tmp_path, rec):
    rec_dir, manifest = rec
    page3 = "http://news.lyd.com.cn/lyxw/index_3.shtml"
    hidden = set(links_on(rec_dir, "index_3.shtml")) & {a["url"] for a in lyd(manifest)}
    assert len(hidden) >= 15

    first = crawl(tmp_path, "lyd", "--replay", str(rec_dir), "--fault", f"{page3}=503")
    with open_store(tmp_path) as store:
        stored = {a["url"] for a in lyd(manifest) if store.articles.find(a["url"])}
        run = store.runs.last()
        [state] = store.columns.load([LYD_COLUMN]).values()
    # The walk went on past the failed page: only what page 3 alone linked is missing.
    assert stored == {a["url"] for a in lyd(manifest)} - hidden, first.stderr[-2000:]
    [incomplete] = run["perPortal"]["lyd"]["incomplete_columns"]
    assert incomplete["column"] == LYD_COLUMN and incomplete["failedPages"] == [page3]
    assert state["whole"] is False and [g["url"] for g in state["gaps"]] == [page3]
    log = last_log(tmp_path)
    assert page3 in log and f"column {LYD_COLUMN} of lyd is incomplete" in log

    # The next run, with nothing wrong and no flag, walks on to the last complete point and fills the gap.
    with ReplayServer(rec_dir) as server:
        second = crawl(tmp_path, "lyd", "--replay", server.proxy_url)
        fetched = server.counts
    assert second.returncode == 0, second.stderr[-2000:]
    assert fetched.get(page3) == 1
    with open_store(tmp_path) as store:
        assert all(store.articles.find(a["url"]) for a in lyd(manifest))
        run = store.runs.last()
        [state] = store.columns.load([LYD_COLUMN]).values()
    assert run["articles"]["new"] == len(hidden)
    assert run["perPortal"]["lyd"]["incomplete_columns"] == []
    assert state["whole"] is True and state["gaps"] == [] and state["anchor"]

    # Whole again: the third run stops where nothing is new, on the column's first page.
    with ReplayServer(rec_dir) as server:
        assert crawl(tmp_path, "lyd", "--replay", server.proxy_url).returncode == 0
        column_pages = [u for u in server.counts if u.startswith(LYD_COLUMN)]
    assert column_pages == [LYD_COLUMN]


def test_failed_article_pages_and_continuations_are_fetched_again_next_run(tmp_path, rec):
    rec_dir, manifest = rec
    deep = links_on(rec_dir, "index_4.shtml")[0]  # below where the next run's walk stops
    multi = next(a for a in reversed(lyd(manifest)) if a["pages"] > 1)
    continuation = multi["url"].replace(".shtml", "_01.shtml")
    first = crawl(tmp_path, "lyd", "--replay", str(rec_dir), "--fault", f"{deep}=503", "--fault",
                  f"{continuation}=reset")
    with open_store(tmp_path) as store:
        assert store.articles.find(deep) is None, first.stderr[-2000:]
        partial = store.articles.find(multi["url"])  # kept with its first page
        states = store.columns.of_site("lyd")  # the home page and the column
    assert partial is not None
    assert all(s["whole"] for s in states if s["_id"] == LYD_COLUMN)  # every listing page came: the walk is whole
    assert {e["key"]: e["tries"] for s in states for e in s["retry"]} == {deep: 1, multi["url"]: 1}

    with ReplayServer(rec_dir) as server:
        second = crawl(tmp_path, "lyd", "--replay", server.proxy_url)
        assert server.count(deep) == 1 and server.count(continuation) == 1
        assert not [u for u in server.counts if u.startswith(LYD_COLUMN + "index_")]  # the walk stopped early
    assert second.returncode == 0, second.stderr[-2000:]
    with open_store(tmp_path) as store:
        assert store.articles.find(deep) is not None
        whole = store.articles.find(multi["url"])
        states = store.columns.of_site("lyd")
        assert store.articles.count({"site": "lyd"}) == len(lyd(manifest))
    last = re.sub(r"\s+", "", multi["bodyParagraphs"][-1])
    assert last not in re.sub(r"\s+", "", partial["articleBody"]) and last in re.sub(r"\s+", "", whole["articleBody"])
    assert [e for s in states for e in s["retry"]] == []


def test_an_article_that_keeps_failing_is_tried_again_then_given_up(tmp_path, rec):
    from newscrawler.middlewares import MAX_ARTICLE_TRIES

    rec_dir, _ = rec
    deep = links_on(rec_dir, "index_4.shtml")[1]
    fault = f"{deep}=500"
    crawl(tmp_path, "lyd", "--replay", str(rec_dir), "--fault", fault)
    with open_store(tmp_path) as store:
        [state] = [s for s in store.columns.of_site("lyd") if s["retry"]]
        assert [(e["key"], e["tries"]) for e in state["retry"]] == [(deep, 1)]
        # Skip ahead to the last try rather than run the crawl MAX_ARTICLE_TRIES times.
        state["retry"][0]["tries"] = MAX_ARTICLE_TRIES - 1
        store.columns.save([state])
    result = crawl(tmp_path, "lyd", "--replay", str(rec_dir), "--fault", fault)
    with open_store(tmp_path) as store:
        assert [e for s in store.columns.of_site("lyd") for e in s["retry"]] == []
        assert store.runs.last()["perPortal"]["lyd"]["articles_given_up"] == 1
    assert f"giving up on {deep}" in last_log(tmp_path), result.stderr
