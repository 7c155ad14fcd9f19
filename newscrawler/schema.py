"""The article: every field it carries, defined once.

An `Article` is the Scrapy item of this project (a dataclass, handled by pipelines through itemadapter's
`ItemAdapter`). Each field says in its metadata which stage fills it, whether a portal profile may select
it, whether a change makes a new version, whether it is stored, exported and shown, and what it means.
Every other list of fields — the profile's selectable fields, the store's versioned and stored fields,
the export columns, the JSON Schema, the README's field table — is derived from here, so adding an
output field is one line in this file (plus the code that fills it).

Field names follow schema.org NewsArticle, as Zyte's article schema does.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Literal

Stage = Literal["extract", "fetch", "normalise", "dedup", "store"]
# How a profile selector's match becomes the field's value (see extract/selectors.py).
SelectKind = Literal["text", "source", "editor", "date", "names", "list", "url", "images", "container"]


def spec(doc: str, stage: Stage, *, stored: bool = True, versioned: bool = False, select: SelectKind | None = None,
         exported: bool | None = None, shown: bool | None = None) -> dict[str, Any]:
    """Field metadata. `stored=False` marks an internal field: it travels between stages and never
    reaches the database. Exported and shown default to stored."""
    return {"doc": doc, "stage": stage, "stored": stored, "versioned": versioned, "select": select,
            "exported": stored if exported is None else exported, "shown": stored if shown is None else shown}


@dataclass
class Image:
    url: str
    caption: str | None = None


@dataclass
class Article:
    # -- what the page says (extraction) --------------------------------------------------------------
    url: str = field(metadata=spec(
        "the URL the article was fetched from (first page of a multi-page article)", "fetch"))
    headline: str | None = field(default=None, metadata=spec("the article's title", "extract", versioned=True,
                                                             select="text"))
    datePublished: datetime | None = field(default=None, metadata=spec(
        "UTC; parsed in the portal's time zone (Asia/Shanghai by default)", "extract", versioned=True,
        select="date"))
    datePublishedRaw: str | None = field(default=None, metadata=spec(
        "as printed on the page, e.g. `2024-3-23 20:21:02`", "extract"))
    dateModified: datetime | None = field(default=None, metadata=spec("UTC", "extract", versioned=True,
                                                                      select="date"))
    dateModifiedRaw: str | None = field(default=None, metadata=spec("as printed on the page", "extract"))
    authors: list[str] = field(default_factory=list, metadata=spec("作者, 记者, 文/图", "extract", versioned=True,
                                                                   select="names"))
    editor: str | None = field(default=None, metadata=spec("责任编辑, 责编, 编辑, 【编辑：X】", "extract",
                                                           versioned=True, select="editor"))
    source: str | None = field(default=None, metadata=spec(
        "来源: the outlet the story came from, one canonical name per outlet (央视网 / 央視網 / CCTV → 央视网)",
        "extract", versioned=True, select="source"))
    breadcrumbs: list[str] = field(default_factory=list, metadata=spec("当前位置 trail", "extract", select="list"))
    articleBody: str = field(default="", metadata=spec(
        "the article's paragraphs, separated by `\\n`, as published (script unchanged)", "extract",
        versioned=True, select="container"))
    articleBodyHtml: str | None = field(default=None, metadata=spec("cleaned HTML of the body", "extract",
                                                                    exported=False, shown=False))
    images: list[Image] = field(default_factory=list, metadata=spec(
        "absolute URLs with captions", "extract", select="images"))
    mainImage: str | None = field(default=None, metadata=spec("the lead image", "extract"))
    description: str | None = field(default=None, metadata=spec("the page's summary (meta description)", "extract"))
    keywords: list[str] = field(default_factory=list, metadata=spec("the page's keywords", "extract"))
    inLanguage: str | None = field(default=None, metadata=spec("e.g. `zh`", "extract"))
    script: str | None = field(default=None, metadata=spec("`Hans` or `Hant` for Chinese text", "extract"))
    canonicalUrl: str | None = field(default=None, metadata=spec(
        "the article's one URL, unique: lower-case host, portal's `www.` rule, no tracking parameters, "
        "fragment or `index.html`; the page's `rel=canonical` when it stays on the portal", "extract"))
    encoding: str | None = field(default=None, metadata=spec("the charset the bytes were decoded with", "extract",
                                                             stored=False))
    nextPage: str | None = field(default=None, metadata=spec(
        "the 下一页 continuation of a multi-page article, for the fetcher to follow", "extract", stored=False,
        select="url"))
    isArticle: bool = field(default=True, metadata=spec(
        "false for pages that hold no article (column and index pages)", "extract", stored=False))
    selectorsMatched: list[str] = field(default_factory=list, metadata=spec(
        "the profile selectors that matched something on the page, for the portal health monitors", "extract",
        stored=False))

    # -- how it was fetched (spider, import) ----------------------------------------------------------
    site: str | None = field(default=None, metadata=spec(
        "portal short name (`jzrb`, `dahe`, …) = its profile file name", "fetch"))
    urls: list[str] = field(default_factory=list, metadata=spec(
        "every canonical URL the article was reached by (e.g. before a redirect)", "fetch"))
    fetchedAt: datetime | None = field(default=None, metadata=spec("when the page was fetched (UTC)", "fetch"))
    importedFrom: str | None = field(default=None, metadata=spec(
        "the file an imported page came from", "fetch", shown=True, exported=False))
    httpStatus: int | None = field(default=None, metadata=spec("the article page's HTTP status", "fetch",
                                                               stored=False))
    truncated: list[str] = field(default_factory=list, metadata=spec(
        "the fields cut to keep the document within the store's limits (e.g. `articleBodyHtml` of a 7 MB page); "
        "empty when nothing was cut", "fetch"))
    incomplete: bool = field(default=False, metadata=spec(
        "a continuation page of a multi-page article failed; the earlier pages were kept", "fetch", stored=False))

    # -- normalisation --------------------------------------------------------------------------------
    sourceRaw: str | None = field(default=None, metadata=spec("the 来源 as printed", "normalise"))
    dateTrusted: bool = field(default=False, metadata=spec(
        "false for a missing date, one in the future or before 1990 (kept, not trusted)", "normalise"))
    headlineSimplified: str | None = field(default=None, metadata=spec(
        "Traditional-script pages only: the OpenCC t2s rendering used for matching", "normalise", exported=False))
    articleBodySimplified: str | None = field(default=None, metadata=spec(
        "Traditional-script pages only: the OpenCC t2s rendering used for matching", "normalise", exported=False,
        shown=False))
    bodyHash: str | None = field(default=None, metadata=spec(
        "sha1 of the normalised Simplified body (exact-duplicate key)", "normalise", exported=False))
    matchKey: str | None = field(default=None, metadata=spec(
        "the Simplified, punctuation-free text dedup compares", "normalise", stored=False))
    matchSketch: dict | None = field(default=None, metadata=spec(
        "dedup's MinHash signature, band keys and figures of the text, made with normalisation in the extraction "
        "process (newscrawler.dedup.engine.sketch); dedup makes its own when it is missing", "normalise",
        stored=False))

    # -- deduplication --------------------------------------------------------------------------------
    cluster: str | None = field(default=None, metadata=spec(
        "the story cluster (same story on several URLs or portals), see `clusters`", "dedup"))
    dedup: str | None = field(default=None, metadata=spec(
        "`exact` (same normalised Simplified body), `near` (MinHash LSH) or `none`", "dedup"))
    duplicateOf: str | None = field(default=None, metadata=spec(
        "the stored article this one was matched to", "dedup"))

    # -- kept by the store ----------------------------------------------------------------------------
    firstSeen: datetime | None = field(default=None, metadata=spec("first stored (UTC)", "store"))
    lastSeen: datetime | None = field(default=None, metadata=spec("last fetched (UTC)", "store"))
    updatedAt: datetime | None = field(default=None, metadata=spec("last changed by a re-crawl (UTC)", "store"))
    versions: list[dict] = field(default_factory=list, metadata=spec(
        "one `{time, previousBodyHash, changed}` per re-crawl that changed the article (with `reprocessed: true` "
        "when `newscrawler reprocess` did)", "store"))

    def extracted(self) -> dict[str, Any]:
        """The fields the extractor fills, as plain data (what `newscrawler extract` prints)."""
        return {name: _plain(getattr(self, name)) for name in ("url", *fields_of(stage="extract"))}


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: Any
    doc: str
    stage: Stage
    stored: bool
    versioned: bool
    select: SelectKind | None
    exported: bool
    shown: bool


@cache
def field_infos() -> dict[str, FieldInfo]:
    hints = typing.get_type_hints(Article)
    return {f.name: FieldInfo(name=f.name, type=hints[f.name], **f.metadata) for f in dataclasses.fields(Article)}


def fields_of(**wanted: Any) -> tuple[str, ...]:
    """Field names whose metadata matches, in definition order: `fields_of(stored=True)`, `fields_of(stage="fetch")`."""
    return tuple(name for name, info in field_infos().items()
                 if all(getattr(info, k) == v for k, v in wanted.items()))


def selectable() -> dict[str, SelectKind]:
    """Fields a portal profile may give a selector for, with how the match becomes a value."""
    return {name: info.select for name, info in field_infos().items() if info.select}


STORED = fields_of(stored=True)
VERSIONED = fields_of(versioned=True)
EXPORTED = fields_of(exported=True)
SHOWN = fields_of(shown=True)
# Fields that describe a fetch rather than the article: refreshed on every fetch, never a new version.
FETCH = fields_of(stage="fetch", stored=True)


def document(item: Any) -> dict[str, Any]:
    """The stored fields of an item (an Article, a dict, anything itemadapter handles) as plain data;
    internal fields (isArticle, encoding, matchKey, …) never reach the database."""
    from itemadapter import ItemAdapter

    adapter = ItemAdapter(item)
    return {name: _plain(adapter[name]) for name in STORED if name in adapter}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json_type(tp: Any) -> dict[str, Any]:
    """JSON Schema for one Python annotation, as the article is exported (dates as ISO 8601 strings)."""
    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        inner = _json_type(args[0]) if len(args) == 1 else {"anyOf": [_json_type(a) for a in args]}
        return {"anyOf": [inner, {"type": "null"}]}
    if origin is list:
        return {"type": "array", "items": _json_type(args[0]) if args else {}}
    if tp is dict or origin is dict:
        return {"type": "object"}
    if tp is datetime:
        return {"type": "string", "format": "date-time"}
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        props = {f.name: _json_type(hints[f.name]) for f in dataclasses.fields(tp)}
        required = [f.name for f in dataclasses.fields(tp)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        return {"type": "object", "properties": props, "required": required}
    return {"type": {str: "string", bool: "boolean", int: "integer", float: "number"}[tp]}


def json_schema(names: Iterable[str] | None = None, *, required: Iterable[str] = ("url", "canonicalUrl", "site",
                                                                                   "headline", "articleBody")) -> dict:
    """JSON Schema (draft 2020-12) of the article as exported: the given fields, else the exported ones."""
    infos = field_infos()
    names = tuple(names) if names is not None else EXPORTED
    props = {n: {**_json_type(infos[n].type), **({"description": infos[n].doc} if infos[n].doc else {})}
             for n in names}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "NewsArticle (newscrawler)",
            "type": "object", "properties": props, "required": [n for n in required if n in props]}


def from_mapping(data: Mapping[str, Any]) -> Article:
    """An Article from a plain mapping (a spill-file line, a stored document): unknown keys are refused."""
    known = field_infos()
    unknown = sorted(set(data) - set(known) - {"_id"})
    if unknown:
        raise ValueError(f"not article fields: {', '.join(unknown)}")
    values = {k: v for k, v in data.items() if k in known}
    if "images" in values:
        values["images"] = [Image(**i) if isinstance(i, Mapping) else i for i in values["images"] or []]
    return Article(**values)


def markdown_table() -> str:
    """The README's table of the stored article document, made from the field definitions."""
    rows = ["| field | type | set by | meaning |", "|---|---|---|---|"]
    for name in STORED:
        info = field_infos()[name]
        flags = [w for w, on in (("versioned", info.versioned), ("selectable", bool(info.select)),
                                 ("not exported", not info.exported)) if on]
        meaning = info.doc + (f" ({', '.join(flags)})" if flags else "")
        rows.append(f"| `{name}` | {_type_name(info.type)} | {info.stage} | {meaning} |")
    return "\n".join(rows)


def _type_name(tp: Any) -> str:
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return _type_name(args[0])
    if typing.get_origin(tp) is list:
        return f"[{_type_name(args[0])}]" if args else "[…]"
    if dataclasses.is_dataclass(tp):
        return "{" + ", ".join(f.name for f in dataclasses.fields(tp)) + "}"
    return {str: "string", bool: "bool", int: "int", datetime: "UTC datetime", dict: "object"}.get(tp, str(tp))


if __name__ == "__main__":
    print(markdown_table())
