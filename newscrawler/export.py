"""Articles out of the store as files: JSON Lines, CSV or Parquet, one record per article with the schema's
exported fields (newscrawler.schema.EXPORTED, schema.org names), dates as ISO 8601 with their offset (UTC).

Every writer takes an iterator of stored documents and writes as it reads (flat memory however many);
`db export` and the console's /export feed them from store.listing.stream(), the list's own order.
- JSON Lines: one object per line, every exported field present (null or [] when the article has none).
- CSV: UTF-8 with a byte-order mark (spreadsheet programs read Chinese right only with it); one column per
  field; lists and objects (authors, images, versions, …) as JSON text.
- Parquet (needs pyarrow: `pip install 'newscrawler[parquet]'`): typed columns; dates as UTC timestamps,
  string lists as lists, images as a list of {url, caption}, versions as JSON text.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import types
import typing
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

from newscrawler import schema

FIELDS: tuple[str, ...] = schema.EXPORTED
FORMATS = ("jsonl", "csv", "parquet")
MEDIA_TYPES = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8",
               "parquet": "application/vnd.apache.parquet"}
ROW_GROUP = 1000


def iso(value: datetime) -> str:
    """ISO 8601 with the offset; stored dates are UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _is_list(name: str) -> bool:
    tp = schema.field_infos()[name].type
    return typing.get_origin(tp) is list


def record(doc: dict[str, Any]) -> dict[str, Any]:
    """One article as exported: exactly the exported fields, in schema order, dates as ISO strings."""
    out = {}
    for name in FIELDS:
        value = doc.get(name)
        if value is None and _is_list(name):
            value = []
        out[name] = _plain(value)
    return out


def jsonl_lines(docs: Iterable[dict[str, Any]]) -> Iterator[str]:
    for doc in docs:
        yield json.dumps(record(doc), ensure_ascii=False) + "\n"


def csv_chunks(docs: Iterable[dict[str, Any]], rows_per_chunk: int = 200) -> Iterator[str]:
    """The CSV text in chunks (BOM and header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(FIELDS)
    n = 0
    for doc in docs:
        writer.writerow([csv_cell(v) for v in record(doc).values()])
        n += 1
        if n % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def write_text(chunks: Iterable[str], out: IO[str]) -> None:
    for chunk in chunks:
        out.write(chunk)


# -- Parquet --------------------------------------------------------------------------------------------

def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _arrow_type(tp: Any):
    import pyarrow as pa

    origin = typing.get_origin(tp)
    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return _arrow_type(args[0])
    if origin is list:
        inner = args[0] if args else str
        if inner is dict or typing.get_origin(inner) is dict:
            return pa.list_(pa.string())
        return pa.list_(_arrow_type(inner))
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        return pa.struct([(f.name, _arrow_type(hints[f.name])) for f in dataclasses.fields(tp)])
    if tp is datetime:
        return pa.timestamp("us", tz="UTC")
    return {str: pa.string(), bool: pa.bool_(), int: pa.int64(), float: pa.float64(), dict: pa.string()}[tp]


def arrow_schema():
    import pyarrow as pa

    infos = schema.field_infos()
    return pa.schema([(name, _arrow_type(infos[name].type)) for name in FIELDS])


def _arrow_value(name: str, value: Any) -> Any:
    if name == "versions":
        return [json.dumps(_plain(v), ensure_ascii=False) for v in value or []]
    return value


def write_parquet(docs: Iterable[dict[str, Any]], sink: Any) -> int:
    """Write a Parquet file a row group at a time; `sink` is a path or a binary file. Returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = arrow_schema()
    rows: list[dict[str, Any]] = []
    n = 0
    with pq.ParquetWriter(sink, arrow, compression="zstd") as writer:
        for doc in docs:
            rows.append({name: _arrow_value(name, doc.get(name) if doc.get(name) is not None
                                            else ([] if _is_list(name) else None)) for name in FIELDS})
            if len(rows) == ROW_GROUP:
                writer.write_table(pa.Table.from_pylist(rows, schema=arrow))
                n += len(rows)
                rows = []
        if rows or n == 0:
            writer.write_table(pa.Table.from_pylist(rows, schema=arrow))
            n += len(rows)
    return n
