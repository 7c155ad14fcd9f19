"""Scrapy's feed exports (`scrapy crawl portal -o articles.jsonl`, the FEEDS setting) give what `newscrawler db
export` gives: each article as newscrawler.export.record() makes it — the schema's exported fields, dates as ISO
8601 with their offset — not the crawl's item, whose internal fields (dedup's sketch holds bytes) no JSON encoder
takes and whose dates Scrapy's encoder would write without their time zone.

Wired in settings.FEED_EXPORTERS for every format Scrapy ships; each class is Scrapy's own exporter fed the record.
"""

from __future__ import annotations

from typing import Any

from scrapy import exporters

from newscrawler import export, schema


def exported(item: Any) -> dict[str, Any]:
    """The crawl's item as `db export` writes the stored article."""
    return export.record(schema.document(item))


class _Exported:
    def export_item(self, item: Any) -> Any:
        return super().export_item(exported(item))  # type: ignore[misc]


class JsonLinesExporter(_Exported, exporters.JsonLinesItemExporter):
    pass


class JsonExporter(_Exported, exporters.JsonItemExporter):
    pass


class XmlExporter(_Exported, exporters.XmlItemExporter):
    pass


class PickleExporter(_Exported, exporters.PickleItemExporter):
    pass


class MarshalExporter(_Exported, exporters.MarshalItemExporter):
    pass


class CsvExporter(_Exported, exporters.CsvItemExporter):
    """As `db export --format csv`: UTF-8 with a byte-order mark (spreadsheet programs read Chinese right only with
    it; none is written when a run appends to a file already there), lists and objects as JSON text (Scrapy's would
    join a list with commas)."""

    def __init__(self, file: Any, **kwargs: Any):
        super().__init__(file, **{**kwargs, "encoding": "utf-8-sig"})

    def serialize_field(self, field: Any, name: str, value: Any) -> Any:
        return export.csv_cell(value)
