"""CSV exports that stream: rows are written as they are read, so 100,000 rows never sit in memory.

Every CSV the product offers (the work-order list, each dashboard table and chart) goes
through ``csv_chunks``, so every download neutralises spreadsheet formulas the same way:
a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with an apostrophe, which spreadsheets show as text instead of running
(OWASP "CSV injection"). Numbers written as numbers, and text that is exactly a plain
number such as ``-12.5``, are left alone so the column stays numeric.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
#: Rows gathered before a chunk is handed to the server: small enough to keep memory flat,
#: large enough that the response is not thousands of tiny writes.
ROWS_PER_CHUNK = 500


def neutralise(value: object) -> object:
    """The cell as it is safe to write: text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_chunks(header: Sequence[str], rows: Iterable[Sequence[object]], *,
               rows_per_chunk: int = ROWS_PER_CHUNK) -> Iterator[str]:
    """The CSV text (RFC 4180, CRLF line ends) in chunks: the header first, then rows as they come."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(name) for name in header])
    pending = 1
    for row in rows:
        writer.writerow([neutralise(value) for value in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending or buffer.tell():
        yield buffer.getvalue()


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """The whole CSV as one string (commands writing a small file, tests)."""
    return "".join(csv_chunks(header, rows))
