"""The article schema: one definition, every other field list derived from it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newscrawler import schema
from newscrawler.profiles import ProfileError, parse_profile
from newscrawler.schema import Article, Image

README = Path(__file__).resolve().parents[1] / "README.md"


def test_internal_fields_are_never_stored():
    art = Article(url="http://www.jzrb.com/news/a/1.shtml", headline="标题", articleBody="正文。",
                  encoding="gb18030", nextPage="http://x/2", isArticle=True, httpStatus=200, matchKey="正文",
                  incomplete=True, images=[Image("http://x/1.jpg", "图")])
    doc = schema.document(art)
    assert {"isArticle", "encoding", "nextPage", "httpStatus", "incomplete", "matchKey"}.isdisjoint(doc)
    assert doc["images"] == [{"url": "http://x/1.jpg", "caption": "图"}]
    # A plain dict (a spill-file line) goes through the same filter.
    assert "isArticle" not in schema.document({"url": "u", "isArticle": False, "headline": "h"})


def test_derived_lists():
    assert "headline" in schema.VERSIONED and "fetchedAt" not in schema.VERSIONED
    assert set(schema.selectable()) >= {"headline", "datePublished", "articleBody", "source", "editor", "nextPage"}
    assert "articleBodyHtml" in schema.STORED and "articleBodyHtml" not in schema.EXPORTED
    assert set(schema.FETCH) >= {"site", "urls", "fetchedAt"}


def test_profile_selectors_come_from_the_schema():
    data = {"site": "x", "hosts": ["x.cn"], "start_urls": ["http://x.cn/"], "article_url_pattern": "/a/",
            "selectors": {"subtitle": "h2"}}
    with pytest.raises(ProfileError) as err:
        parse_profile(data, "x.toml")
    assert "selectors.subtitle" in str(err.value) and "headline" in str(err.value)


def test_json_schema_describes_an_exported_article():
    js = schema.json_schema()
    props = js["properties"]
    assert props["datePublished"]["anyOf"][0] == {"type": "string", "format": "date-time"}
    assert props["images"]["items"]["properties"]["url"] == {"type": "string"}
    assert set(js["required"]) == {"url", "canonicalUrl", "site", "headline", "articleBody"}
    assert set(props) == set(schema.EXPORTED)


def test_from_mapping_refuses_unknown_keys():
    art = schema.from_mapping({"url": "u", "images": [{"url": "i"}], "fetchedAt": datetime.now(UTC)})
    assert art.images == [Image("i")]
    with pytest.raises(ValueError, match="headlin"):
        schema.from_mapping({"url": "u", "headlin": "typo"})


def test_readme_field_table_is_made_from_the_schema():
    text = README.read_text(encoding="utf-8")
    table = re.search(r"<!-- schema-table:start -->\n(.*?)<!-- schema-table:end -->", text, re.S).group(1)
    assert table.strip() == schema.markdown_table().strip(), "run `python -m newscrawler.schema` and paste it"
