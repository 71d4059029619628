"""Streamed CSV: formulas are neutralised, numbers stay numbers, rows arrive in chunks."""

import csv
import io
from datetime import datetime, timezone
from decimal import Decimal

from app.services.exports import csv_chunks, csv_text, neutralise


def parse(text):
    return list(csv.reader(io.StringIO(text, newline="")))


def test_text_a_spreadsheet_would_run_is_prefixed_with_an_apostrophe():
    for dangerous in ("=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://x")'):
        assert neutralise(dangerous) == "'" + dangerous


def test_plain_numbers_and_ordinary_text_are_left_alone():
    assert neutralise("-12.5") == "-12.5"
    assert neutralise("+7") == "+7"
    assert neutralise(-3) == -3
    assert neutralise(Decimal("-1.50")) == Decimal("-1.50")
    assert neutralise("Brake check") == "Brake check"
    assert neutralise(None) == ""
    assert neutralise(True) == "yes"
    assert neutralise(datetime(2026, 3, 1, 8, 30, tzinfo=timezone.utc)) == "2026-03-01T08:30:00+00:00"


def test_header_and_rows_round_trip_through_a_csv_reader():
    text = csv_text(["number", "title", "cost"], [("D-1", 'Say "hi", then =2', 12.5), ("D-2", "=EVIL()", None)])
    assert text.endswith("\r\n")
    assert parse(text) == [["number", "title", "cost"], ["D-1", 'Say "hi", then =2', "12.5"], ["D-2", "'=EVIL()", ""]]


def test_rows_are_written_in_chunks_as_they_are_read():
    consumed = []

    def rows():
        for i in range(25):
            consumed.append(i)
            yield (i, f"row {i}")

    chunks = csv_chunks(["n", "label"], rows(), rows_per_chunk=10)
    first = next(chunks)
    assert len(consumed) < 25  # the first chunk left before every row was read
    rest = "".join(chunks)
    assert parse(first + rest)[1:] == [[str(i), f"row {i}"] for i in range(25)]


def test_an_empty_export_is_the_header_alone():
    assert parse(csv_text(["a", "b"], [])) == [["a", "b"]]
