"""How a page hands over a CSV file: streamed, named, never cached."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask import Response, stream_with_context

from app.services.exports import csv_chunks


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """A streamed ``text/csv`` attachment. ``rows`` may be a generator that reads the database as it
    goes (``yield_per``); ``stream_with_context`` keeps the request's session open until the last row.

    Validate the request *before* calling this: once streaming starts, an error can no longer
    become a 400 page."""
    response = Response(stream_with_context(csv_chunks(header, rows)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
