"""The extractor on the offline replay of the four target portals (jzrb, dahe, hnr, lyd).

The generator writes each article's ground truth into the manifest (headline, date, source, authors,
editor, first/last paragraph, paragraph count, page count), so every page is checked against what was
put on it: GBK bytes, Traditional renderings, the seed's doubled body, multi-page articles, columns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from newscrawler.extract import extract, merge_pages
from newscrawler.profiles import load_profiles

replay = pytest.importorskip("newscrawler_replay")


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    out = tmp_path_factory.mktemp("replay")
    manifest = replay.generate(out, articles_per_site=12)
    routes = {r["url"]: r for r in json.loads((out / "routes.json").read_text(encoding="utf-8"))["routes"]}
    return out, manifest, routes


def _fetch(recording, url: str) -> tuple[bytes, dict[str, str]] | None:
    out, manifest, routes = recording
    r = routes.get(url)
    for _ in range(5):
        if r is None or r["status"] not in (301, 302):
            break
        r = routes.get(r["location"])
    if r is None or not r.get("file"):
        return None
    return (Path(out) / "pages" / r["file"]).read_bytes(), {"Content-Type": r.get("contentType", "")}


@pytest.mark.parametrize("use_profile", [True, False], ids=["profile", "no-profile"])
def test_replay_articles_match_the_manifest(recording, use_profile):
    _, manifest, _ = recording
    profiles = load_profiles()
    wrong = []
    for truth in manifest["articles"]:
        url = truth["url"]
        profile = next((p for p in profiles.values() if p.owns_url(url)), None) if use_profile else None
        body, headers = _fetch(recording, url)
        pages = [extract(body, url, headers=headers, profile=profile)]
        while pages[-1].nextPage and len(pages) < 10:
            nxt = _fetch(recording, pages[-1].nextPage)
            assert nxt is not None, f"{url}: nextPage {pages[-1].nextPage} is not in the recording"
            pages.append(extract(nxt[0], pages[-1].nextPage, headers=nxt[1], profile=profile))
        art = merge_pages(pages)
        paras = art.articleBody.split("\n")
        got = (art.isArticle, art.headline, art.datePublished, art.source, art.authors, art.editor,
               paras[0], paras[-1], len(paras), len(pages))
        want = (True, truth["headline"], truth["datePublished"], truth["source"], truth["authors"],
                truth["editor"], truth["bodyParagraphs"][0], truth["bodyParagraphs"][-1],
                truth["paragraphCount"], truth["pages"])
        if got != want:
            wrong.append((url, truth["special"], [(g, w) for g, w in zip(got, want, strict=True) if g != w]))
    assert not wrong, wrong[:5]


def test_replay_columns_and_home_pages_are_not_articles(recording):
    _, manifest, _ = recording
    listing = [manifest["sites"][s]["home"] for s in manifest["sites"]]
    listing += [c for s in manifest["sites"] for c in manifest["sites"][s]["columns"]]
    for url in listing:
        body, headers = _fetch(recording, url)
        art = extract(body, url, headers=headers)
        assert art.isArticle is False, url


def test_replay_seed_story_in_both_scripts(recording):
    _, manifest, _ = recording
    seeds = [a for a in manifest["articles"] if a["story"] == "seed"]
    assert seeds
    for truth in seeds:
        body, headers = _fetch(recording, truth["url"])
        art = extract(body, truth["url"], headers=headers)
        assert art.script == truth["script"]
        assert art.datePublishedRaw == truth["datePublishedRaw"]
        assert len(art.articleBody.split("\n")) == truth["paragraphCount"]  # doubled body collapsed
