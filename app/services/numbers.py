"""The one rule for a number written by a person or a client (URL, query string, form, CLI).

Python's ``int()`` and ``float()`` read far more than a person means by a number: other
scripts' digits (``"٣"``), superscripts pass ``str.isdigit()`` and then fail, and ``"007"``,
``" 7"``, ``"+7"`` and ``"1_000"`` are all 7 or 1000. Two spellings of one id would make two
URLs for one record, and a number no column holds fails deep in the database driver. So a
whole number is ASCII digits only, without a sign unless negative numbers are allowed,
without leading zeros, and within the range of the column it is meant for.
"""

from __future__ import annotations

import math
import re

from app.services.errors import ValidationError

#: The largest value of an ``INTEGER`` column (PostgreSQL's 4 bytes; ids are such columns).
DB_INT_MAX = 2**31 - 1

_WHOLE = re.compile(r"-?(0|[1-9][0-9]*)", re.ASCII)
_DECIMAL = re.compile(r"-?((0|[1-9][0-9]*)(\.[0-9]+)?|\.[0-9]+)", re.ASCII)
#: A decimal longer than this is not a reading anyone types (and cannot be a finite float).
_DECIMAL_MAX_CHARS = 40


def canonical_int(text: str, minimum: int = 1, maximum: int = DB_INT_MAX) -> int | None:
    """``text`` as an int if it is the canonical spelling of one in ``[minimum, maximum]``, else None."""
    if not isinstance(text, str) or len(text) > 20 or not _WHOLE.fullmatch(text):
        return None
    value = int(text)
    if value == 0 and text.startswith("-"):
        return None  # "-0" is not how anyone writes 0
    return value if minimum <= value <= maximum else None


def parse_int(text: str, *, label: str, field: str | None = None, minimum: int = 1,
              maximum: int = DB_INT_MAX) -> int:
    """``text`` as a whole number in ``[minimum, maximum]``, or a ``ValidationError`` saying why not."""
    value = canonical_int(text, minimum, maximum)
    if value is None:
        shown = text if len(text) <= 30 else text[:30] + "…"
        raise ValidationError(
            f"{label} must be a whole number from {minimum} to {maximum}, written with the digits 0–9 only "
            f"(no spaces, signs or leading zeros); {shown!r} is not.",
            field=field,
        )
    return value


def parse_decimal(text: str, *, label: str, field: str | None = None, minimum: float | None = None,
                  maximum: float | None = None) -> float:
    """``text`` as a decimal number such as ``12.5`` or ``-3``, within the bounds given."""
    if len(text) > _DECIMAL_MAX_CHARS or not _DECIMAL.fullmatch(text):
        shown = text if len(text) <= 30 else text[:30] + "…"
        raise ValidationError(
            f"{label} must be a number written with the digits 0–9 and an optional '-' and '.', "
            f"such as 12.5; {shown!r} is not.",
            field=field,
        )
    value = float(text)
    low = -math.inf if minimum is None else minimum
    high = math.inf if maximum is None else maximum
    if not low <= value <= high:
        bounds = (f"from {low:g} to {high:g}" if minimum is not None and maximum is not None
                  else f"at least {low:g}" if minimum is not None else f"at most {high:g}")
        raise ValidationError(f"{label} must be {bounds}, not {text}.", field=field)
    return value
