"""The console as a WSGI application over a real store (pages, escaping, headers, access rules, export), and
`newscrawler web` as a process: it refuses another address without credentials and serves with them."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import pytest
from kit import newscrawler, start

from newscrawler import export, schema
from newscrawler.store import ArticleFilter
from newscrawler.web.access import Access, AccessError
from newscrawler.web.app import Console

PORT = 8123
EVIL = {
    "headline": "郑州新闻<script>alert(1)</script>",
    "articleBody": ('<img src=x onerror=alert(1)>第一段。\n第二段"><svg onload=alert(1)>\n'
                    '<a href="javascript:alert(1)">原文</a>'),
    "source": "<img src=x onerror=alert(document.cookie)>",
    "authors": ["<b>记者</b>"],
    "editor": "编辑'\"><script>alert(2)</script>",
}


def article(n: int, **fields) -> dict:
    url = f"http://www.jzrb.com/news/{n}.shtml"
    return {"url": url, "canonicalUrl": url, "site": "jzrb", "headline": f"焦作新闻{n}", "articleBody": f"正文{n}。",
            "datePublished": datetime(2024, 3, 1, tzinfo=UTC) + timedelta(hours=n), "script": "Hans",
            "source": "新华社", "authors": ["张三"], "editor": "李四", "dateTrusted": True, **fields}


@pytest.fixture
def console(store):
    items = [article(n) for n in range(45)] + [article(99, **EVIL)]
    items.append(article(100, script="Hant", headline="焦作新聞", articleBody="總書記強調。", source="央视网",
                         headlineSimplified="焦作新闻", articleBodySimplified="总书记强调。",
                         images=[{"url": "http://img.jzrb.com/a.jpg", "caption": "图"},
                                 {"url": "javascript:alert(1)", "caption": "x"}]))
    store.articles.write(items)
    return Console(store, Access("127.0.0.1"), port=PORT), items


def get(app, path: str, method: str = "GET", **headers: str):
    target, _, query = path.partition("?")
    environ = {"REQUEST_METHOD": method, "PATH_INFO": target, "QUERY_STRING": query,
               "HTTP_HOST": headers.pop("host", f"127.0.0.1:{PORT}"), "wsgi.input": io.BytesIO(b"")}
    environ.update({"HTTP_" + k.upper(): v for k, v in headers.items()})
    seen = {}

    def start_response(status, response_headers):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(response_headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body.decode("utf-8")


def test_every_page_answers_with_a_strict_policy(console):
    app, items = console
    url = quote(items[0]["canonicalUrl"], safe="")
    for path in ("/", "/?page=2", f"/article?url={url}", "/stories", "/runs", "/portals", "/portals?site=jzrb",
                 "/export?format=jsonl", "/static/console.css"):
        status, headers, body = get(app, path)
        assert status == 200, (path, body[:300])
        csp = headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp and "unsafe" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
        if headers["Content-Type"].startswith("text/html"):
            assert "<script" not in body.lower().replace("&lt;script", "")


def test_scraped_markup_is_shown_as_text(console):
    app, items = console
    for path in ("/?q=郑州新闻", "/article?url=" + quote(items[45]["canonicalUrl"], safe="")):
        status, _, body = get(app, path)
        assert status == 200
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        for live in ("<script", "<img src=x", "<svg onload", 'href="javascript:', "<b>记者"):
            assert live not in body, (path, live)
    _, _, body = get(app, "/article?url=" + quote(items[46]["canonicalUrl"], safe="") + "&images=1")
    assert 'src="http://img.jzrb.com/a.jpg"' in body
    assert 'src="javascript:' not in body and 'href="javascript:' not in body and "<li>javascript:alert(1)" in body


def test_the_article_page_finds_any_spelling_and_toggles_the_script(console):
    app, items = console
    trad = items[46]["canonicalUrl"]
    for spelling in (trad, trad.replace("http://", "https://"), trad.replace("http://www.", ""),
                     trad.replace("http://", "")):
        status, _, body = get(app, "/article?url=" + quote(spelling, safe=""))
        assert status == 200 and "焦作新聞" in body and "總書記強調" in body, spelling
    _, headers, body = get(app, "/article?url=" + quote(trad, safe="") + "&text=Hans")
    assert "总书记强调" in body and "Simplified</strong>" in body
    assert "img-src 'self'" in headers["Content-Security-Policy"]
    _, headers, _ = get(app, "/article?url=" + quote(trad, safe="") + "&images=1")
    assert "img-src 'self' http: https:" in headers["Content-Security-Policy"]
    status, _, body = get(app, "/article?url=http://www.jzrb.com/none.shtml")
    assert status == 404 and "No stored article" in body


def test_filters_resolve_aliases_and_say_what_is_wrong(console):
    app, _ = console
    _, _, body = get(app, "/?source=" + quote("CCTV"))
    assert body.count('class="article"') == 1 and "焦作新聞" in body
    status, _, body = get(app, "/?site=nosuch")
    assert status == 400 and "unknown site" in body
    status, _, body = get(app, "/?since=2024-13-01")
    assert status == 400 and "is not a date" in body
    status, _, _ = get(app, "/?page=x")
    assert status == 400


def test_pages_and_export_list_the_same_articles(console):
    app, items = console
    params = {"site": "jzrb", "since": "2024-03-01", "until": "2024-03-03"}
    listed = []
    page = 1
    while True:
        status, _, body = get(app, "/?" + urlencode({**params, "page": page}))
        assert status == 200
        rows = [line.split('href="/article?url=', 1)[1].split('"', 1)[0] for line in body.splitlines()
                if 'class="headline"' in line]
        listed += [urllib.parse.unquote(r.replace("&amp;", "&")) for r in rows]
        if 'rel="next"' not in body:
            break
        page += 1
    status, headers, body = get(app, "/export?" + urlencode({"format": "jsonl", **params}))
    assert status == 200 and headers["Content-Disposition"].startswith("attachment")
    exported = [json.loads(line) for line in body.splitlines()]
    assert [r["canonicalUrl"] for r in exported] == listed and len(listed) > 20
    assert list(exported[0]) == list(schema.EXPORTED)
    assert exported[0]["datePublished"].endswith("+00:00")
    _, _, text = get(app, "/export?" + urlencode({"format": "csv", **params}))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == list(schema.EXPORTED) and [r[rows[0].index("canonicalUrl")] for r in rows[1:]] == listed
    status, _, _ = get(app, "/export?format=xml")
    assert status == 400


def test_only_get_and_head(console):
    app, _ = console
    assert get(app, "/", method="POST")[0] == 405
    status, _, body = get(app, "/", method="HEAD")
    assert status == 200 and body == ""
    assert get(app, "/nope")[0] == 404


def test_loopback_console_refuses_other_host_names(console):
    app, _ = console
    assert get(app, "/", host="attacker.example:8123")[0] == 421
    assert get(app, "/", host=f"localhost:{PORT}")[0] == 200
    assert get(app, "/", host="127.0.0.1:9")[0] == 421


def test_credentials_are_required_when_configured(store):
    app = Console(store, Access.from_environment("0.0.0.0", {"NEWSCRAWLER_WEB_TOKEN": "s3cret"}), port=PORT)
    assert get(app, "/")[0] == 401
    assert get(app, "/", authorization="Bearer wrong")[0] == 401
    assert get(app, "/", authorization="Bearer s3cret")[0] == 200
    basic = base64.b64encode(b"anyone:s3cret").decode()
    assert get(app, "/", authorization=f"Basic {basic}")[0] == 200
    app = Console(store, Access.from_environment("0.0.0.0", {"NEWSCRAWLER_WEB_USER": "ana",
                                                             "NEWSCRAWLER_WEB_PASSWORD": "pw"}), port=PORT)
    assert get(app, "/", authorization="Basic " + base64.b64encode(b"ana:pw").decode())[0] == 200
    assert get(app, "/", authorization="Basic " + base64.b64encode(b"ana:nope").decode())[0] == 401
    assert get(app, "/", host="192.0.2.7:8123", authorization="Basic " + base64.b64encode(b"ana:pw").decode())[0] == 200


def test_another_address_needs_credentials():
    with pytest.raises(AccessError, match="NEWSCRAWLER_WEB_TOKEN"):
        Access.from_environment("0.0.0.0", {})
    with pytest.raises(AccessError, match="both"):
        Access.from_environment("0.0.0.0", {"NEWSCRAWLER_WEB_USER": "ana"})
    assert not Access.from_environment("127.0.0.1", {}).protected


def test_export_writers(console):
    app, items = console
    store = app.store
    docs = list(store.listing.stream(ArticleFilter(site="jzrb")))
    lines = list(export.jsonl_lines(docs))
    assert len(lines) == len(items)
    record = json.loads(lines[0])
    assert set(record) == set(schema.EXPORTED) and "articleBodyHtml" not in record
    assert record["authors"] == ["张三"] and record["firstSeen"].endswith("+00:00")
    csv_text = "".join(export.csv_chunks(docs, rows_per_chunk=7))
    assert csv_text.startswith("\ufeff") and len(list(csv.reader(io.StringIO(csv_text[1:])))) == len(items) + 1
    pq = pytest.importorskip("pyarrow.parquet")
    sink = io.BytesIO()
    assert export.write_parquet(iter(docs), sink) == len(items)
    table = pq.read_table(io.BytesIO(sink.getvalue()))
    assert table.column_names == list(schema.EXPORTED) and table.num_rows == len(items)
    row = table.slice(0, 1).to_pylist()[0]
    assert row["canonicalUrl"] == docs[0]["canonicalUrl"] and row["datePublished"].tzinfo is not None


@pytest.mark.e2e
def test_web_refuses_a_public_address_without_credentials(tmp_path):
    env = {k: "" for k in os.environ if k.startswith("NEWSCRAWLER_WEB_")}  # an empty setting is no setting
    result = newscrawler(tmp_path, "web", "--host", "0.0.0.0", "--port", "0", env=env, timeout=60)
    assert result.returncode == 2 and "NEWSCRAWLER_WEB_TOKEN" in result.stderr


@pytest.mark.e2e
def test_web_serves_with_a_token_and_stops_on_sigterm(tmp_path):
    proc = start(tmp_path, "web", "--host", "0.0.0.0", "--port", "0", env={"NEWSCRAWLER_WEB_TOKEN": "tok"})
    try:
        line = proc.stdout.readline()
        assert line.startswith("console: http://0.0.0.0:"), line + proc.stderr.read()
        port = int(re.match(r"console: http://0\.0\.0\.0:(\d+)/", line).group(1))
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
        assert refused.value.code == 401
        request = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Authorization": "Bearer tok"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200 and "newscrawler" in response.read().decode()
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, proc.stderr.read()
