"""The one rule for text that is stored: no control characters, and no longer than its column.

SQLite stores a NUL character; PostgreSQL refuses it deep in the driver. SQLite ignores a
``VARCHAR(200)``'s length; PostgreSQL refuses a longer value. So the rule is checked here,
before either database sees the text, and the same text is accepted or refused on both,
with a message naming the real problem. Nothing is ever cut to fit.

The limit of a column is read from the model: ``String(n)`` is ``n`` characters; ``Text``
is ``TEXT_MAX`` unless the column says otherwise with ``info={"max_length": n}``. Forms read
the same limit (``column_limit``) for their validators and their hint.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import String, Text, func, inspect
from sqlalchemy.orm import Session

from app.services.errors import ValidationError

#: Characters of a long text (descriptions, notes, reasons) unless its column says otherwise.
TEXT_MAX = 5000

#: C0 controls, DEL and C1 controls; tab and line breaks are allowed in multi-line text only.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def column_of(model: type, name: str) -> Any:
    return inspect(model).columns[name]


def column_limit(column: Any) -> int | None:
    """The longest text ``column`` takes, in characters (None: not a text column)."""
    column_type = getattr(column.type, "impl", column.type)
    if "max_length" in column.info:
        return column.info["max_length"]
    if isinstance(column_type, Text):
        return TEXT_MAX
    if isinstance(column_type, String):
        return column_type.length
    return None


def is_multiline(column: Any) -> bool:
    return isinstance(getattr(column.type, "impl", column.type), Text)


def label_of(column: Any) -> str:
    return column.info.get("label") or column.key.replace("_", " ").capitalize()


def control_character(text: str, *, multiline: bool = True) -> str | None:
    """The first character ``text`` may not contain, described (``"U+0000"``), or None."""
    found = (_CONTROL if multiline else _CONTROL_SINGLE_LINE).search(text)
    if found is None:
        return None
    character = found.group()
    names = {"\x00": "a NUL character", "\t": "a tab", "\n": "a line break", "\r": "a line break"}
    return f"{names.get(character, 'a control character')} (U+{ord(character):04X})"


def check_text(text: str | None, *, label: str, limit: int | None, multiline: bool, field: str | None = None) -> None:
    """Refuse ``text`` if it holds a control character or is longer than ``limit``."""
    if text is None:
        return
    problem = control_character(text, multiline=multiline)
    if problem is not None:
        where = "" if multiline else " (it is a single line)"
        raise ValidationError(f"{label} contains {problem}{where}; remove it and try again.", field=field)
    if limit is not None and len(text) > limit:
        raise ValidationError(
            f"{label} is {len(text)} characters long; the limit is {limit}. Shorten it and try again.", field=field
        )


def check_column_value(column: Any, value: Any, field: str | None = None) -> None:
    if isinstance(value, str):
        check_text(value, label=label_of(column), limit=column_limit(column), multiline=is_multiline(column),
                   field=field or column.key)


def check(model: type, name: str, value: str | None) -> None:
    """Refuse ``value`` for ``model.name`` (used where rows are written without the ORM)."""
    check_column_value(column_of(model, name), value)


def validate_session_text(session: Session) -> None:
    """Every new or changed text value of the flush obeys its column's rule (a ``before_flush`` hook)."""
    for obj in (*session.new, *session.dirty):
        state = inspect(obj)
        mapper = state.mapper
        new = obj in session.new
        for column_attr in mapper.column_attrs:
            if len(column_attr.columns) != 1:
                continue
            column = column_attr.columns[0]
            if not isinstance(getattr(column.type, "impl", column.type), String):
                continue
            key = column_attr.key
            if key not in state.dict:
                continue
            if not new and not state.attrs[key].history.has_changes():
                continue
            check_column_value(column, state.dict[key], key)


def same_text(column, value: str):
    """``column`` equals ``value`` whatever their case, as the unique ``lower()`` indexes see it.

    Both sides go through the database's own ``lower()``: SQLite's folds ASCII letters only,
    PostgreSQL's every letter. Lower-casing ``value`` in Python instead would let a check pass
    that the index then refuses on SQLite ("È" twice: an IntegrityError, not a message).
    """
    return func.lower(column) == func.lower(value)


def any_same_text(column, values):
    """``column`` equals one of ``values`` whatever the case (``same_text`` for several)."""
    return func.lower(column).in_([func.lower(value) for value in values])


def contains_text(column, text: str):
    """``column`` contains ``text`` whatever the case. SQLite's LIKE already ignores ASCII case
    (and its lower() folds nothing more), so there the column is compared as it is, without a
    lower() call on each of 100,000 rows; elsewhere ILIKE-style lower() on both sides."""
    from app.extensions import db

    if db.session.get_bind().dialect.name == "sqlite":
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)
