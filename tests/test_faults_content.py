"""Issue 12 items 5 and 6: pages whose content is the fault. An oversized article (the replay's `huge`
fault) is stored cut, with the cut recorded, in a run that succeeds; control characters (`ctrl`) are stored
clean; an extraction that fails is counted and recorded with its URL; a spill file with an oversized line
and a line cut mid-character still loads. Real crawls in child processes."""

from __future__ import annotations

import http.server
import json
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import bson
import pytest
from kit import crawl, last_log, newscrawler, open_store

from newscrawler_replay.generate import generate, route_file

pytestmark = pytest.mark.e2e  # child processes (see tests/kit.py)

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("rec")
    return base, generate(base, articles_per_site=20)


def longest_line(*texts: str) -> int:
    return max((len(line) for text in texts for line in text.splitlines()), default=0)


def test_an_oversized_article_is_stored_cut_with_the_cut_recorded(tmp_path, rec):
    rec_dir, manifest = rec
    # A Traditional-script page: its Simplified copy is stored too (20 MB as a document before the limits).
    big = next(a for a in manifest["articles"] if a["site"] == "jzrb" and a["script"] == "Hant")
    result = crawl(tmp_path, "jzrb", "--replay", str(rec_dir), "--fault", f"{big['url']}=huge")
    assert result.returncode == 0, result.stderr[-3000:]
    assert longest_line(result.stdout, result.stderr) < 2000
    with open_store(tmp_path) as store:
        doc = store.articles.find(big["url"])
        run = store.runs.last()
        assert store.articles.count({"site": "jzrb"}) == sum(1 for a in manifest["articles"] if a["site"] == "jzrb")
    assert {"articleBody", "articleBodyHtml"} <= set(doc["truncated"])
    assert len(bson.encode(doc)) < 16 * 2**20 and len(doc["articleBody"]) > 100_000
    assert doc["headline"] and re.sub(r"\s+", "", big["bodyParagraphs"][0]) in re.sub(r"\s+", "", doc["articleBody"])
    assert run["articles"]["new"] > 0 and run["exitCode"] == 0
    assert longest_line(*(p.read_text() for p in (tmp_path / "logs").glob("*.log"))) < 2000


def test_control_characters_in_pages_are_stored_clean(tmp_path, rec):
    rec_dir, manifest = rec
    lyd = [a for a in manifest["articles"] if a["site"] == "lyd"]
    result = crawl(tmp_path, "lyd", "--replay", str(rec_dir), "--fault", r"http://news\.lyd\.com\.cn/system/.*=ctrl")
    assert result.returncode == 0, result.stderr[-3000:]
    with open_store(tmp_path) as store:
        docs = [store.articles.find(a["url"]) for a in lyd]
        run = store.runs.last()
    assert all(docs), [a["url"] for a, d in zip(lyd, docs, strict=True) if not d]
    for doc in docs:
        assert not CONTROL.search(doc["headline"] + doc["articleBody"]), doc["url"]
    dead = [u for u in manifest["not_found"] if "lyd" in u]
    assert [e for e in run["errors"] if e["kind"] == "extraction"] == []
    assert run["errorCount"] == len(dead)


class BinaryPages(http.server.BaseHTTPRequestHandler):
    """A portal whose first article page is bytes no charset decodes (its extraction must fail, visibly) and
    whose second is a recorded news page."""

    good_page = b""

    def do_GET(self):  # noqa: N802 - http.server's name
        pages = {"/": b'<html><body><a href="/news/1.html">a</a> <a href="/news/2.html">b</a></body></html>',
                 "/news/1.html": bytes(range(128, 256)) * 40, "/news/2.html": self.good_page}
        if self.path not in pages:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(pages[self.path])))
        self.end_headers()
        self.wfile.write(pages[self.path])

    def log_message(self, *args):
        pass


def test_an_extraction_failure_is_counted_and_recorded_with_its_url(tmp_path, rec):
    rec_dir, manifest = rec
    good = next(a for a in manifest["articles"] if a["site"] == "hnr" and a["script"] == "Hans" and a["pages"] == 1)
    handler = type("Pages", (BinaryPages,), {"good_page": (rec_dir / "pages" / route_file(good["url"])).read_bytes()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        profiles = tmp_path / "profiles"
        profiles.mkdir()
        (profiles / "binary.toml").write_text(
            f'site = "binary"\nhosts = ["127.0.0.1"]\nstart_urls = ["{base}/"]\n'
            "article_url_pattern = '/news/\\d+\\.html$'\n[politeness]\ndownload_delay = 0\n", encoding="utf-8")
        env = {"NEWSCRAWLER_PROFILES": str(profiles), "no_proxy": "127.0.0.1"}
        result = crawl(tmp_path / "data", "binary", env=env)
    finally:
        server.shutdown()
    with open_store(tmp_path / "data") as store:
        run = store.runs.last()
        assert store.articles.find(f"{base}/news/2.html") is not None, result.stderr[-3000:]
    [failure] = [e for e in run["errors"] if e["kind"] == "extraction"]
    assert failure["url"] == f"{base}/news/1.html" and "cannot decode" in failure["error"]
    assert run["errorCount"] >= 1 and run["dropReasons"].get("CharsetError") == 1
    assert f"extraction failed: {base}/news/1.html" in last_log(tmp_path / "data")


def test_load_spill_stores_what_it_can_read_and_keeps_the_rest(tmp_path):
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()

    def article(n: int, body: str) -> dict:
        return {"url": f"http://www.example.cn/{n}.html", "canonicalUrl": f"http://www.example.cn/{n}.html",
                "site": "demo", "headline": f"标题{n}", "articleBody": body,
                "datePublished": datetime(2024, 3, 23, 12, tzinfo=UTC).isoformat(),
                "fetchedAt": datetime.now(UTC).isoformat()}

    good = [json.dumps(article(n, f"第{n}篇正文。\n第二段。"), ensure_ascii=False) for n in range(3)]
    huge = json.dumps(article(3, "超长稿件的一段文字。\n" * 550_000), ensure_ascii=False)  # ~18 MB as UTF-8
    cut = json.dumps(article(4, "被截断的一行"), ensure_ascii=False).encode()[:-12]
    cut = cut[:len(cut) - 1]  # ends inside a three-byte character: a disk that filled mid-write
    path = spill_dir / "run.jsonl"
    path.write_bytes("\n".join([good[0], huge, good[1]]).encode() + b"\n" + cut + b"\n" + b"not json\n"
                     + good[2].encode() + b"\n")
    result = newscrawler(tmp_path, "db", "load-spill", str(path))
    assert result.returncode == 1, result.stderr
    assert "loaded 4 articles" in result.stdout and "2 line(s) could not be read (line 4, 5" in result.stdout
    assert f"{path}: 2 line(s) could not be read" in result.stderr and "Traceback" not in result.stderr
    rejected = path.with_name("run.jsonl.rejected").read_bytes().splitlines()
    assert rejected == [cut, b"not json"]
    assert not path.exists() and path.with_name("run.jsonl.loaded").exists()
    with open_store(tmp_path) as store:
        assert store.articles.count() == 4
        doc = store.articles.find("http://www.example.cn/3.html")
        assert doc["truncated"] == ["articleBody"] and len(bson.encode(doc)) < 16 * 2**20
        assert all(d.get("cluster") for d in store.newest(limit=1000))
    assert os.stat(path.with_name("run.jsonl.rejected")).st_mode & 0o777 == 0o600
