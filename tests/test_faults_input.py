"""Issue 12 item 7: bad input gets a one-line error naming the file, field or URL, and the rest of the work
goes on. MONGO_URI mistakes, profile mistakes (a wrong type, a typo, a pattern that would backtrack for
minutes), one broken profile among healthy ones, damaged WARC files. Real processes throughout; the SRV look-up
goes to a DNS server on 127.0.0.1 (nothing leaves the machine)."""

from __future__ import annotations

import socket
import threading
import time
from io import BytesIO
from pathlib import Path

import dns.message
import dns.rcode
import pytest
from kit import crawl, last_log, newscrawler, open_store

from newscrawler.profiles import ProfileError, load_profile
from newscrawler_replay.generate import generate, route_file

GOOD = """site = "demo"
hosts = ["example.cn"]
start_urls = ["http://www.example.cn/"]
article_url_pattern = '^http://www\\.example\\.cn/\\d+\\.html$'
"""


@pytest.fixture(scope="module")
def rec(tmp_path_factory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("rec")
    return base, generate(base, articles_per_site=3)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# -- MONGO_URI --------------------------------------------------------------------------------------------

@pytest.mark.e2e
@pytest.mark.parametrize("uri, secret", [
    ("http://crawler:hunter2@db.example/newscrawler", "hunter2"),
    ("mongodb://crawler:p@ss@127.0.0.1:9/newscrawler", "p@ss"),
])
def test_a_malformed_mongo_uri_is_one_line_naming_it_without_the_password(tmp_path, uri, secret):
    result = crawl(tmp_path, "hnr", env={"MONGO_URI": uri})
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert line.startswith("newscrawler: MONGO_URI ") and "is not a usable MongoDB URI" in line
    assert "crawler:***@" in line and secret not in line and "ss@" not in line


@pytest.mark.e2e
def test_a_setting_without_a_value_is_a_usage_error_naming_it(tmp_path):
    result = crawl(tmp_path, "hnr", "-s", "STORE_BATCH_SIZE")
    assert result.returncode == 2
    assert one_line(result.stderr) == "newscrawler crawl: -s 'STORE_BATCH_SIZE' is not NAME=VALUE"
    assert not (tmp_path / "logs").exists()  # refused before the run started


class NxDomain:
    """A DNS server on 127.0.0.1 that knows no name (the answer an unresolvable SRV record gets)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            reply = dns.message.make_response(dns.message.from_wire(data))
            reply.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(reply.to_wire(), peer)


@pytest.mark.e2e
def test_an_unresolvable_srv_uri_fails_fast_in_one_line(tmp_path):
    dns_server = NxDomain()
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import dns.resolver\n"
        "dns.resolver.default_resolver = dns.resolver.Resolver(configure=False)\n"
        "dns.resolver.default_resolver.nameservers = ['127.0.0.1']\n"
        f"dns.resolver.default_resolver.port = {dns_server.port}\n")
    start = time.monotonic()
    result = crawl(tmp_path / "data", "hnr", env={"MONGO_URI": "mongodb+srv://crawler:hunter2@cluster0.nowhere.invalid/news",
                                                  "PYTHONPATH": str(site)})
    dns_server.sock.close()
    assert result.returncode == 3 and time.monotonic() - start < 30
    line = one_line(result.stderr)
    assert "mongodb+srv://crawler:***@cluster0.nowhere.invalid/news" in line and "does not exist" in line
    assert "hunter2" not in result.stderr + result.stdout


# -- profiles ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, field, words", [
    (GOOD + 'enabled = "false"\n', "enabled", "must be true or false"),
    (GOOD + "[politeness]\ndownload_dely = 5\n", "politeness.download_dely", "unknown field (a typo?)"),
    (GOOD + '[politeness]\nconcurrent_requests = "2"\n', "politeness.concurrent_requests", "whole number"),
    (GOOD + 'max_pages_per_column = "fifty"\n', "max_pages_per_column", "whole number"),
    (GOOD.replace("'^http://", "'(?<=x)^http://"), "article_url_pattern", "RE2"),
])
def test_a_wrong_value_in_a_profile_names_the_file_and_field(tmp_path, text, field, words):
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProfileError) as err:
        load_profile(path)
    assert err.value.field == field and words in err.value.problem
    assert str(err.value).startswith(f"broken portal profile {path}: field '{field}'")


def test_a_catastrophically_backtracking_pattern_matches_in_linear_time(tmp_path):
    path = tmp_path / "demo.toml"
    # With Python's re this pattern takes minutes on the URL below (exponential backtracking).
    path.write_text(GOOD.replace("\\d+\\.html$'", r"(\w+\.?)*\.html$'"), encoding="utf-8")
    profile = load_profile(path)
    start = time.monotonic()
    assert not profile.is_article_url("http://www.example.cn/" + "a" * 60 + "!")
    assert profile.is_article_url("http://www.example.cn/123.html")
    assert time.monotonic() - start < 0.1


@pytest.mark.e2e
def test_one_broken_profile_is_reported_and_the_healthy_portals_are_still_crawled(tmp_path, rec):
    rec_dir, manifest = rec
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "broken.toml").write_text(GOOD.replace('"demo"', '"broken"') + 'enabled = "false"\n',
                                         encoding="utf-8")
    env = {"NEWSCRAWLER_PROFILES": str(profiles)}
    every = crawl(tmp_path / "data", "--replay", str(rec_dir), env=env)
    assert every.returncode == 2, every.stderr[-3000:]
    assert f"broken portal profile {profiles / 'broken.toml'}: field 'enabled'" in every.stderr
    assert "Traceback" not in every.stderr
    with open_store(tmp_path / "data") as store:
        assert set(store.counters.totals()) == set(manifest["sites"])  # every healthy portal crawled
        run = store.runs.last()
    assert run["exitCode"] == 2 and run["status"] == "failed"
    assert [str(profiles / "broken.toml") in b for b in run["brokenProfiles"]] == [True]
    # Asked for by name next to a healthy one: the same; not asked for: no effect at all.
    named = crawl(tmp_path / "data", "hnr", "broken", "--replay", str(rec_dir), env=env)
    assert named.returncode == 2 and "field 'enabled'" in named.stderr
    other = crawl(tmp_path / "data", "hnr", "--replay", str(rec_dir), env=env)
    assert other.returncode == 0 and "broken.toml" not in other.stderr


# -- damaged WARC files -----------------------------------------------------------------------------------

def warc(path: Path, pages: list[tuple[str, bytes]]) -> bytes:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, body in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(body),
                                                          http_headers=headers))
    return path.read_bytes()


@pytest.mark.e2e
def test_damaged_warc_files_are_each_reported_and_the_rest_is_imported(tmp_path, rec):
    rec_dir, manifest = rec
    articles = [a for a in manifest["articles"] if a["site"] in ("hnr", "dahe") and a["pages"] == 1][:10]
    pages = [(a["url"], (rec_dir / "pages" / route_file(a["url"])).read_bytes()) for a in articles]
    folder = tmp_path / "saved"
    folder.mkdir()
    expected, kinds = [], {}
    # Each file holds three pages (one gzip member each) and is damaged in its third.
    for i, (name, damage) in enumerate([("a_garbled.warc.gz", "garbled"), ("b_truncated.warc.gz", "lost"),
                                        ("c_cut_short.warc.gz", "cut")]):
        data = warc(folder / name, pages[3 * i:3 * i + 3])
        third = third_record_offset(folder / name)
        if damage == "garbled":  # bytes overwritten inside the compressed record
            middle = (third + len(data)) // 2
            data = data[:middle] + b"\xff" * 40 + data[middle + 40:]
        elif damage == "lost":  # the file ends just after the record began: warcio yields nothing of it
            data = data[:third + 12]
        else:  # the file ends a little before the record does
            data = data[:-30]
        (folder / name).write_bytes(data)
        expected += [u for u, _ in pages[3 * i:3 * i + 2]]
        kinds[name] = damage
    (folder / "d_page.html").write_bytes(pages[9][1])
    url_map = tmp_path / "urls.tsv"
    url_map.write_text(f"d_page.html\t{pages[9][0]}\n", encoding="utf-8")
    result = newscrawler(tmp_path / "data", "import", str(folder), "--url-map", str(url_map))
    assert "Traceback" not in result.stderr
    assert "errors 3" in result.stdout, result.stdout + result.stderr[-3000:]
    errors = [line for line in last_log(tmp_path / "data").splitlines() if "cannot import" in line]
    assert len(errors) == 3
    assert any(f"{folder / 'a_garbled.warc.gz'}: damaged file" in e for e in errors)
    assert any(f"{folder / 'b_truncated.warc.gz'}: the compressed file is truncated" in e for e in errors)
    assert any(f"{folder / 'c_cut_short.warc.gz'} (" in e and "the record is cut short" in e for e in errors)
    with open_store(tmp_path / "data") as store:
        stored = {a["url"] for a in articles if store.articles.find(a["url"])}
        run = store.runs.last()
    assert stored == set(expected + [pages[9][0]])
    assert len([e for e in run["errors"] if e["kind"] == "import"]) == 3


def third_record_offset(path: Path) -> int:
    from warcio.archiveiterator import ArchiveIterator

    with path.open("rb") as fh:
        it = ArchiveIterator(fh)
        offsets = []
        for record in it:
            record.content_stream().read()
            offsets.append(it.get_record_offset())
    return offsets[2]
