"""extract() on damaged input: whatever the bytes, it returns an Article or raises ExtractionError naming the
URL, never anything else; control characters are cleaned and the article around them still comes out.

The pages are mutated copies of the replay's pages (always present) and of the shared corpus (when present):
control bytes sprinkled in, markup cut anywhere, deep nesting, byte flips, lying charset labels, binary
garbage. The mutations are seeded, so a failure names a reproducible case.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from newscrawler.extract import Article, ExtractionError, extract
from newscrawler.profiles import load_profiles

CORPUS = Path(os.environ.get("NEWSCRAWLER_CORPUS")
              or Path(__file__).resolve().parents[1].parent / "shared" / "corpus")

replay = pytest.importorskip("newscrawler_replay")

# The control characters lxml refuses in text ("All strings must be XML compatible").
XML_UNSAFE = {chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20))} | {"\ufffe", "\uffff"}


@pytest.fixture(scope="module")
def replay_pages(tmp_path_factory) -> list[tuple[str, bytes, dict[str, str]]]:
    out = tmp_path_factory.mktemp("replay")
    replay.generate(out, articles_per_site=6)
    routes = json.loads((out / "routes.json").read_text(encoding="utf-8"))["routes"]
    return [(r["url"], (out / "pages" / r["file"]).read_bytes(), {"Content-Type": r.get("contentType", "")})
            for r in routes if r["status"] == 200 and r.get("file")]


def _corpus_pages(limit: int) -> list[tuple[str, bytes, dict[str, str]]]:
    pages = []
    for folder in ("zh-news-dev", "aeb-dev", "zh-web-unlabeled", "portal-pages"):
        for path in sorted((CORPUS / folder).rglob("*.htm*"))[:limit]:
            pages.append((f"http://example.com/{folder}/{path.name}", path.read_bytes(), {}))
    return pages


def _sprinkle_controls(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 40)):
        data.insert(rng.randrange(len(data) + 1), rng.choice(b"\x01\x07\x08\x0b\x0c\x0e\x1b\x1f\x00\x7f"))
    return bytes(data)


def _controls_in_text(rng: random.Random, body: bytes) -> bytes:
    """Control characters right inside the text runs (after a '>'), where they reach element text."""
    parts = body.split(b">")
    for _ in range(min(len(parts) - 1, 30)):
        i = rng.randrange(1, len(parts))
        parts[i] = rng.choice([b"\x08", b"\x1b[0m", b"\x1f", b"\x0c", b"\x01\x02"]) + parts[i]
    return b">".join(parts)


def _truncate(rng: random.Random, body: bytes) -> bytes:
    return body[: rng.randrange(len(body) + 1)]


def _deep_nesting(rng: random.Random, body: bytes) -> bytes:
    depth = rng.choice([300, 3000, 20000])
    tag = rng.choice([b"div", b"span", b"a", b"p", b"table"])
    return body.replace(b"<body>", b"<body>" + (b"<" + tag + b">") * depth + b"x", 1)


def _flip_bytes(rng: random.Random, body: bytes) -> bytes:
    data = bytearray(body)
    for _ in range(rng.randint(1, 200)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _garbage(rng: random.Random, body: bytes) -> bytes:
    junk = bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 7, 500, 20000])))
    return rng.choice([junk, body[:200] + junk, junk + body[-200:], b"\xff\xfe" + junk, b"\xef\xbb\xbf" + junk])


def _lying_label(rng: random.Random, body: bytes) -> bytes:
    label = rng.choice([b"utf-16", b"utf-7", b"x-unknown", b"big5", b"shift_jis", b"koi8-r", b"\xff\xfe"])
    return b'<meta charset="' + label + b'">' + body


def _markup_debris(rng: random.Random, body: bytes) -> bytes:
    debris = rng.choice([b"<", b"</", b"<!--", b"<![CDATA[", b"<?xml ", b"&#0;", b"&#x1b;", b"&#xfffe;",
                         b"<a href='javascript:'>", b'<meta content="\x08">', b"<script>", b"<<<>>>"])
    data = bytearray(body)
    for _ in range(rng.randint(1, 20)):
        data[rng.randrange(len(data) + 1):0] = debris
    return bytes(data)


MUTATIONS: list[Callable[[random.Random, bytes], bytes]] = [
    _sprinkle_controls, _controls_in_text, _truncate, _deep_nesting, _flip_bytes, _garbage, _lying_label,
    _markup_debris,
]


def _cases(pages: list[tuple[str, bytes, dict[str, str]]], per_page: int, seed: int) -> Iterator[tuple]:
    rng = random.Random(seed)
    for n, (url, body, headers) in enumerate(pages):
        for k in range(per_page):
            mutate = MUTATIONS[(n * per_page + k) % len(MUTATIONS)]
            yield f"{mutate.__name__} #{n}.{k}", url, mutate(rng, body), headers


def _check(cases: Iterator[tuple]) -> int:
    profiles = load_profiles()
    bad = []
    count = 0
    for case, url, body, headers in cases:
        count += 1
        profile = next((p for p in profiles.values() if p.owns_url(url)), None)
        try:
            art = extract(body, url, headers=headers, profile=profile)
        except ExtractionError as exc:
            if url not in str(exc):
                bad.append((case, f"ExtractionError without the URL: {exc}"))
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test
            bad.append((case, f"{type(exc).__name__}: {exc}"))
            continue
        assert isinstance(art, Article)
        text = "".join(filter(None, [art.articleBody, art.headline, art.source, art.editor, *art.authors]))
        if set(text) & XML_UNSAFE:
            bad.append((case, f"control characters kept: {sorted(set(text) & XML_UNSAFE)}"))
    assert not bad, bad[:10]
    return count


def test_mutated_replay_pages_raise_only_extraction_errors(replay_pages):
    assert _check(_cases(replay_pages, per_page=8, seed=12)) >= 200


def test_mutated_corpus_pages_raise_only_extraction_errors():
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent")
    assert _check(_cases(_corpus_pages(limit=7), per_page=8, seed=7)) >= 200


def test_control_characters_in_the_text_lose_nothing(replay_pages):
    """A page whose paragraphs carry backspace, escape and unit-separator characters gives the same
    article as the clean page, minus those characters."""
    profiles = load_profiles()
    checked = 0
    for url, body, headers in replay_pages:
        profile = next((p for p in profiles.values() if p.owns_url(url)), None)
        clean = extract(body, url, headers=headers, profile=profile)
        if not clean.isArticle or "utf-8" not in headers.get("Content-Type", ""):
            continue
        dirty = body.replace("。".encode(), "。\x08\x1b\x1f".encode()).replace(b"<p>", b"<p>\x0b")
        art = extract(dirty, url, headers=headers, profile=profile)
        assert art.isArticle, url
        assert (art.headline, art.datePublished, art.source, art.authors) == \
               (clean.headline, clean.datePublished, clean.source, clean.authors), url
        assert art.articleBody.replace(" ", "") == clean.articleBody.replace(" ", ""), url
        checked += 1
    assert checked >= 10


def test_control_characters_from_a_decoded_string():
    """Callers may hand over text already decoded; it is cleaned the same way."""
    para = "这是一段足够长的正文，\x08有逗号也有句号。" * 8
    art = extract(f"<html><body><h1>标题\x1b</h1><div><p>{para}</p></div></body></html>", "http://e.com/a.html")
    assert "\x08" not in art.articleBody and "这是一段足够长的正文" in art.articleBody


def test_extraction_error_names_the_url():
    with pytest.raises(ExtractionError, match=r"http://e\.com/bin\.html"):
        extract(bytes(range(256)) * 40, "http://e.com/bin.html")
