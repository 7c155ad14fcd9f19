"""Inspecting a crawled store as a person would: the `db` commands and the web console in headless Chromium
(Debian's chromium driven by Playwright), on the replay crawled for real — including the replay's injection
article, whose headline, body and 来源 carry script and HTML.

The browser tests skip only when /usr/bin/chromium is not installed (`make test` installs it when it can)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path
from urllib.parse import urlencode

import pytest
from kit import REPO, child_env, newscrawler, read, start

from newscrawler.normalise.sources import canonical_source
from newscrawler.normalise.urls import canonical_url
from newscrawler.profiles import profile_for_url
from newscrawler_replay.generate import generate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    base = tmp_path_factory.mktemp("console")
    manifest = generate(base / "recording", articles_per_site=15)
    data = base / "data"
    result = newscrawler(data, "crawl", "--replay", str(base / "recording"))
    assert result.returncode == 0, result.stderr[-3000:]
    for a in manifest["articles"]:
        a["canonical"] = canonical_url(a["url"], profile_for_url(a["url"]))
        a["outlet"] = canonical_source(a["source"])
    return data, manifest


@pytest.fixture(scope="module")
def console(crawled):
    data, _ = crawled
    proc = start(data, "web", "--port", "0")
    line = proc.stdout.readline()
    match = re.match(r"console: (http://127\.0\.0\.1:\d+)/", line)
    assert match, line + proc.stderr.read()
    yield match.group(1)
    proc.terminate()
    assert proc.wait(60) == 0


def nfkc(text: str) -> str:
    """Text as the normaliser stores it (no-break spaces folded, …)."""
    return unicodedata.normalize("NFKC", text)


def lines_json(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines()]


# -- the db commands ----------------------------------------------------------------------------------

def test_show_takes_any_spelling_and_prints_a_readable_article(crawled):
    data, manifest = crawled
    seed = next(a for a in manifest["articles"] if a["story"] == "seed" and a["script"] == "Hans")
    url = seed["canonical"]
    for spelling in (url, url.replace("http://", "https://"), url.replace("http://", ""),
                     url.replace("http://www.", "")):
        shown = read(data, "db", "show", spelling)
        assert shown.returncode == 0, (spelling, shown.stderr)
        assert shown.stdout.startswith(nfkc(seed["headline"])) and "+08:00 (Asia/Shanghai)" in shown.stdout
        assert "<p>" not in shown.stdout and '"articleBodyHtml"' not in shown.stdout
    as_json = json.loads(read(data, "db", "show", "--json", url).stdout)
    assert as_json["canonicalUrl"] == url and as_json["datePublished"].endswith("+00:00")
    missing = read(data, "db", "show", "http://www.jzrb.com/nope.shtml")
    assert missing.returncode == 1 and "no stored article" in missing.stderr


def test_find_by_any_name_of_an_outlet(crawled):
    data, manifest = crawled
    want = {a["canonical"] for a in manifest["articles"] if a["outlet"] == "央视网"}
    assert len(want) >= 3
    for name in ("央视网", "央視網", "CCTV", "央视"):
        found = read(data, "db", "find", "--source", name, "--limit", "0", "--json")
        assert found.returncode == 0, found.stderr
        assert {d["canonicalUrl"] for d in lines_json(found.stdout)} == want, name


def test_find_with_several_words_people_and_an_unknown_site(crawled):
    data, manifest = crawled
    found = lines_json(read(data, "db", "find", "焦作", "活动", "--limit", "0", "--json").stdout)
    assert found and all("焦作" in d["headline"] + d["articleBody"] and "活动" in d["headline"] + d["articleBody"]
                         for d in found)
    person = manifest["articles"][3]["authors"][0]
    by_author = lines_json(read(data, "db", "find", "--author", person, "--limit", "0", "--json").stdout)
    assert {d["canonicalUrl"] for d in by_author} == {a["canonical"] for a in manifest["articles"]
                                                      if person in a["authors"]}
    editor = manifest["articles"][5]["editor"]
    by_editor = lines_json(read(data, "db", "find", "--editor", editor, "--limit", "0", "--json").stdout)
    assert {d["canonicalUrl"] for d in by_editor} == {a["canonical"] for a in manifest["articles"]
                                                      if a["editor"] == editor}
    unknown = read(data, "db", "find", "--site", "nosuch")
    assert unknown.returncode == 2 and "unknown site 'nosuch'" in unknown.stderr and "jzrb" in unknown.stderr


def test_find_says_when_the_limit_cut_and_labels_times(crawled):
    data, manifest = crawled
    result = read(data, "db", "find", "--limit", "3")
    assert len(result.stdout.splitlines()) == 3
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d \+08:00 ", line) for line in result.stdout.splitlines())
    assert f"showing 3 of {len(manifest['articles'])}" in result.stderr and "UTC+08:00" in result.stderr


def test_find_into_head_ends_quietly(crawled):
    data, _ = crawled
    result = subprocess.run(f"set -o pipefail; {sys.executable} -m newscrawler --data-dir {data} db find --limit 0 "
                            "| head -1", shell=True, executable="/bin/bash", capture_output=True, text=True,
                            cwd=REPO, timeout=120, env=child_env(data))
    assert result.returncode == 0 and "Traceback" not in result.stderr and len(result.stdout.splitlines()) == 1


def test_stats_per_day_table_says_how_many_days(crawled):
    data, _ = crawled
    text = read(data, "db", "stats", "--days", "5").stdout
    table = text.split("per day", 1)[1].split("run ", 1)[0]
    assert "the 5 latest days" in table and "--days N for more" in table
    assert len(re.findall(r"^  \d{4}-\d\d-\d\d ", table, re.M)) == 5
    as_json = json.loads(read(data, "db", "stats", "--days", "40", "--json").stdout)
    assert len(as_json["perDay"]) == 40


def test_export_in_every_format_is_the_list(crawled, tmp_path):
    data, manifest = crawled
    listed = [d["canonicalUrl"] for d in lines_json(read(
        data, "db", "find", "--site", "lyd", "--since", "2024-03-01", "--limit", "0", "--json").stdout)]
    assert listed
    for fmt in ("jsonl", "csv", "parquet"):
        out = tmp_path / f"lyd.{fmt}"
        result = read(data, "db", "export", "--format", fmt, "--site", "lyd", "--since", "2024-03-01",
                             "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert f"exported {len(listed)} articles" in result.stderr
        if fmt == "jsonl":
            urls = [r["canonicalUrl"] for r in lines_json(out.read_text(encoding="utf-8"))]
        elif fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
            urls = [r["canonicalUrl"] for r in rows]
        else:
            pq = pytest.importorskip("pyarrow.parquet")
            urls = pq.read_table(out).column("canonicalUrl").to_pylist()
        assert urls == listed, fmt
    searched = read(data, "db", "export", "--query", "總書記")
    assert {r["canonicalUrl"] for r in lines_json(searched.stdout)} == {
        a["canonical"] for a in manifest["articles"] if a["story"] == "seed"}


# -- the console in a browser -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; `make test` does when it can)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    yield pg
    context.close()


def rows(page) -> list[dict]:
    return page.eval_on_selector_all("tr.article", """rows => rows.map(r => ({
        url: new URL(r.querySelector('td.headline a').href).searchParams.get('url'),
        site: r.children[1].innerText.trim(), source: r.children[3].innerText.trim(),
        headline: r.querySelector('td.headline a').innerText}))""")


def all_rows(page) -> list[dict]:
    """Every row of the list, following its "older" links."""
    out = rows(page)
    while page.locator("a[rel=next]").count():
        page.click("a[rel=next]")
        out += rows(page)
    return out


def total(page) -> int:
    return int(page.inner_text("#total").replace(",", "").rstrip("+"))


@pytest.mark.browser
def test_every_page_renders_the_crawled_store(console, crawled, page):
    data, manifest = crawled
    n = len(manifest["articles"])
    assert page.goto(console + "/").status == 200
    assert total(page) == n and len(rows(page)) == 20
    assert "newest first" in page.inner_text("p.summary")
    first = rows(page)[0]
    assert page.goto(console + "/article?" + urlencode({"url": first["url"]})).status == 200
    assert page.inner_text("#headline") == first["headline"]
    assert "+08:00" in page.inner_text("dl.meta") and page.locator("#original").count() == 1
    seed = next(a for a in manifest["articles"] if a["story"] == "seed" and a["script"] == "Hant")
    page.goto(console + "/article?" + urlencode({"url": seed["canonical"]}))
    assert page.locator("#story tr").count() >= 3  # header + both copies of the story
    traditional = page.inner_text("#body")
    page.click("text=Simplified")
    assert page.inner_text("#body") != traditional and "总书记" in page.inner_text("#body")
    assert page.goto(console + "/stories").status == 200
    assert page.locator("section.cluster").count() >= 3
    assert page.goto(console + "/runs").status == 200
    assert page.locator("section.run").count() == 1 and "jzrb" in page.inner_text("section.run table")
    assert page.goto(console + "/portals").status == 200
    assert page.locator("table.portals tbody tr").count() == 4 and page.locator("svg.chart").count() == 4
    assert page.goto(console + "/portals?site=jzrb&days=365").status == 200
    assert page.locator("svg.chart rect title").count() == 365
    assert page.locator("svg.chart polyline").count() >= 1
    assert page.dialogs == []


@pytest.mark.browser
def test_filters_and_search_narrow_the_list(console, crawled, page):
    data, manifest = crawled
    page.goto(console + "/")
    page.select_option("select[name=site]", "dahe")
    page.click("form.filters button[type=submit]")
    listed = all_rows(page)
    assert {r["site"] for r in listed} == {"dahe"}
    assert sorted(r["url"] for r in listed) == sorted(a["canonical"] for a in manifest["articles"]
                                                      if a["site"] == "dahe")
    page.goto(console + "/")
    page.fill("input[name=source]", "CCTV")
    page.click("form.filters button[type=submit]")
    assert {r["source"] for r in rows(page)} == {"央视网"}
    assert total(page) == sum(a["outlet"] == "央视网" for a in manifest["articles"])
    page.goto(console + "/")
    page.fill("header input[name=q]", "總書記")
    page.press("header input[name=q]", "Enter")
    assert {r["url"] for r in rows(page)} == {a["canonical"] for a in manifest["articles"] if a["story"] == "seed"}
    page.goto(console + "/?" + urlencode({"since": "2024-06-01", "until": "2024-07-01", "site": "hnr"}))
    want = {a["canonical"] for a in manifest["articles"]
            if a["site"] == "hnr" and "2024-06-01" <= a["datePublished"][:10] < "2024-07-01"}
    assert {r["url"] for r in all_rows(page)} == want and want
    page.goto(console + "/?site=nosuch")
    assert "unknown site" in page.inner_text("p.error")


@pytest.mark.browser
def test_the_injection_article_stays_inert(console, crawled, page):
    _, manifest = crawled
    evil = next(a for a in manifest["articles"] if "injection" in (a.get("special") or []))
    page.goto(console + "/?" + urlencode({"q": "乡村振兴示范村"}))
    assert "<script>alert(1)</script>" in page.inner_text("table.articles")
    page.goto(console + "/article?" + urlencode({"url": evil["canonical"]}))
    assert page.inner_text("#headline").endswith("<script>alert(1)</script>")
    body = page.inner_text("#body")
    assert "<img src=x onerror=alert(1)>" in body and '<a href="javascript:alert(1)">' in body
    assert "onerror=alert(document.cookie)" in page.inner_text("#source")
    assert page.evaluate("document.scripts.length") == 0
    assert page.locator("#body img, #body svg, #body a, #source img").count() == 0
    assert page.evaluate("typeof window.alert") == "function" and page.dialogs == []
    for path in ("/", "/stories", "/portals?site=dahe"):
        page.goto(console + path)
    assert page.dialogs == []


@pytest.mark.browser
def test_export_returns_exactly_what_the_console_lists(console, page):
    for params in ({"site": "hnr"}, {"q": "焦作"}, {"source": "新华社", "since": "2024-05-01"}):
        page.goto(console + "/?" + urlencode(params))
        listed = [r["url"] for r in all_rows(page)]
        assert listed
        page.goto(console + "/?" + urlencode(params))
        href = page.get_attribute("#export-jsonl", "href")
        response = page.request.get(console + href)
        assert response.status == 200 and "attachment" in response.headers["content-disposition"]
        exported = [json.loads(line)["canonicalUrl"] for line in response.text().splitlines()]
        assert exported == listed, params
        as_csv = page.request.get(console + page.get_attribute("#export-csv", "href")).text()
        assert [r["canonicalUrl"] for r in csv.DictReader(io.StringIO(as_csv.lstrip("\ufeff")))] == listed


@pytest.mark.browser
def test_screenshots(console, crawled, page):
    """Pictures of the list and of one article, kept where NEWSCRAWLER_SCREENSHOTS says (for people to look at)."""
    where = os.environ.get("NEWSCRAWLER_SCREENSHOTS")
    _, manifest = crawled
    seed = next(a for a in manifest["articles"] if a["story"] == "seed" and a["script"] == "Hant")
    page.goto(console + "/")
    list_png = page.screenshot(full_page=False)
    page.goto(console + "/article?" + urlencode({"url": seed["canonical"]}))
    article_png = page.screenshot(full_page=True)
    assert list_png[:8] == article_png[:8] == b"\x89PNG\r\n\x1a\n"
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        (Path(where) / "console-articles.png").write_bytes(list_png)
        (Path(where) / "console-article.png").write_bytes(article_png)
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
