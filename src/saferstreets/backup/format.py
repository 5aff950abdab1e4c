"""The backup file: a zip of one JSON Lines file per table and a manifest (pure, no store).

Layout (``FORMAT``, version ``FORMAT_VERSION``)::

    manifest.json           {"format", "format_version", "schema_revision", "created_at",
                             "saferstreets_version", "tables": {name: {"rows", "sha256",
                             "columns"}}}
    tables/<table>.jsonl    one JSON object per row, keys sorted, rows in primary-key order

Why this format: a zip and JSON Lines are open, documented and read by every language and by
hand (``unzip -p backup.zip tables/report.jsonl | head``); unlike CSV, JSON keeps the difference
between null and an empty string, numbers as numbers, and the nested JSON columns (reasons,
answers, results) as they are, with no quoting rules to get wrong. Each value is written as its
column's type needs: text, whole numbers and booleans as JSON; real numbers as JSON numbers
(Python's shortest repr, so every double comes back bit for bit); dates and date-times as ISO
8601 text; binary as base64 text; JSON columns as JSON. A SQL NULL is ``null`` (a JSON column's
JSON ``null`` is kept as SQL NULL: the store never needs the difference). The manifest's
``sha256`` of each table's file and its row count are checked before anything is restored.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, time
from typing import Any

import sqlalchemy as sa

FORMAT = "saferstreets-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TABLES_DIR = "tables/"

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "TABLES_DIR",
    "decode_row",
    "encode_row",
    "member_name",
]


def member_name(table: str) -> str:
    return f"{TABLES_DIR}{table}.jsonl"


def _kind(column: sa.Column[Any]) -> str:
    ty = column.type
    if isinstance(ty, sa.JSON):
        return "json"
    if isinstance(ty, sa.LargeBinary):
        return "bytes"
    if isinstance(ty, sa.DateTime):
        return "datetime"
    if isinstance(ty, sa.Date):
        return "date"
    if isinstance(ty, sa.Time):
        return "time"
    if isinstance(ty, sa.Boolean):
        return "bool"
    if isinstance(ty, sa.Float):
        return "float"
    if isinstance(ty, sa.Integer):
        return "int"
    return "text"


def column_kinds(table: sa.Table) -> dict[str, str]:
    """Each column's name and how its values are written."""
    return {c.name: _kind(c) for c in table.columns}


def _encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bytes":
        return base64.b64encode(bytes(value)).decode("ascii")
    if kind in ("datetime", "date", "time"):
        return value.isoformat()
    if kind == "float":
        return float(value)
    return value


def encode_row(kinds: dict[str, str], row: dict[str, Any]) -> str:
    """One row as a line of JSON (no newline)."""
    values = {name: _encode(kind, row[name]) for name, kind in kinds.items()}
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "bytes":
        return base64.b64decode(value, validate=True)
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "time":
        return time.fromisoformat(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("not true or false")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not a whole number")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("not a number")
        return float(value)
    if kind == "text" and not isinstance(value, str):
        raise ValueError("not text")
    return value


def decode_row(kinds: dict[str, str], line: str) -> dict[str, Any]:
    """A line of JSON back into the row's values; ValueError naming the column if one is wrong."""
    raw = json.loads(line)
    if not isinstance(raw, dict):
        raise ValueError("a row must be a JSON object")
    unknown = set(raw) - set(kinds)
    if unknown:
        raise ValueError(f"unknown column {sorted(unknown)[0]!r}")
    row = {}
    for name, kind in kinds.items():
        try:
            row[name] = _decode(kind, raw.get(name))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {name!r}: {exc}") from None
    return row
