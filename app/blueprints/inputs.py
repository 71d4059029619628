"""Reading numbers and text from requests, by the rules of ``app.services.numbers`` and ``text``.

- ``DatabaseIdConverter`` is the ``int`` URL converter: it takes any path segment and
  answers 404 unless it is the canonical spelling of an id a database integer holds, so
  ``/dispatches/07``, ``/dispatches/٧`` and ``/dispatches/99999999999`` are not found,
  whatever the method.
- ``query_int`` / ``query_text`` read the query string: a value that breaks the rule is a
  400 whose message says which parameter and why.
- ``WholeNumberField``, ``DecimalField``, ``IdSelectField``, ``IdMultipleField`` and
  ``ColumnText`` are the form's side of the same rules (WTForms' own fields use ``int()``
  and ``float()``, which read other scripts' digits).
- ``LocalDateTimeField`` reads a datetime-local value as wall-clock time in the signed-in
  user's zone (``app.services.local_time``), names that zone in its label, and holds the
  UTC instant.
- ``TimeZoneField`` offers the IANA zones (empty: the organisation's); the service refuses
  a name that is not one, so a hand-made request is held to the same rule.
- ``refuse_control_characters`` runs before every view: a NUL or other control character
  in any query or form value is a 400 naming the parameter, so no such text reaches a
  query or a table on either database.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, request
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter
from wtforms import DateTimeLocalField, FloatField, IntegerField, SelectField, SelectMultipleField
from wtforms.validators import StopValidation, ValidationError as FormError

from app.services import local_time as zones
from app.services import text as text_rules
from app.services.errors import ValidationError
from app.services.numbers import DB_INT_MAX, canonical_int, parse_decimal, parse_int


class DatabaseIdConverter(BaseConverter):
    """``<int:…>``: a positive id in canonical ASCII digits within ``INTEGER``; else no route (404)."""

    regex = r"[^/]+"  # every segment reaches to_python, so no other spelling can fall through to a 405
    part_isolating = True

    def __init__(self, url_map: Any, minimum: int = 0, maximum: int = DB_INT_MAX, **_ignored: Any) -> None:
        super().__init__(url_map)
        self.minimum, self.maximum = minimum, maximum

    def to_python(self, value: str) -> int:
        number = canonical_int(value, self.minimum, self.maximum)
        if number is None:
            # Not found, and final: "no match" would let the router answer 405 when a rule of the
            # same shape takes another method (GET /checklists/<id> next to POST /checklists/<id>).
            raise NotFound(f"There is no record {value[:30]!r}: an id is written with the digits 0–9, "
                           "without leading zeros.")
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


def query_int(name: str, *, label: str | None = None, minimum: int = 1, maximum: int = DB_INT_MAX,
              args: Any = None) -> int | None:
    """The query parameter ``name`` as a whole number (None when absent or empty); else 400."""
    raw = (request.args if args is None else args).get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_int(raw, label=label or f"The parameter {name!r}", field=name, minimum=minimum, maximum=maximum)
    except ValidationError as error:
        abort(400, error.message)


def query_text(name: str, *, limit: int, label: str | None = None, args: Any = None) -> str:
    """The query parameter ``name``, stripped ("" when absent); longer than ``limit``: 400."""
    value = ((request.args if args is None else args).get(name) or "").strip()
    try:
        text_rules.check_text(value, label=label or f"The parameter {name!r}", limit=limit, multiline=False)
    except ValidationError as error:
        abort(400, error.message)
    return value


def refuse_control_characters() -> None:
    """``before_request``: no query or form value may hold a NUL or another control character."""
    sources = [("query parameter", request.args)]
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sources.append(("form field", request.form))
    for what, values in sources:
        for name, value in values.items(multi=True):
            if name == "next" and what == "query parameter":
                continue  # a redirect target is never stored; an unsafe one just goes home (safe_path)
            problem = text_rules.control_character(name) or text_rules.control_character(value)
            if problem is not None:
                shown = name if text_rules.control_character(name) is None else repr(name)
                abort(400, f"The {what} {shown} contains {problem}; remove it and send the form again.")


# --- form fields -----------------------------------------------------------------------------


def _form_label(field: Any) -> str:
    return field.label.text if field.label is not None else field.name


class _ParsedByRule:
    """A form field whose typed text is read by one of ``app.services.numbers``' parsers.

    The parser's message becomes the field's error; an empty field is ``None``. Each
    subclass defines ``_parse(text)`` with its parser and limits.
    """

    _parse: Callable[[str], Any]

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        if not valuelist or valuelist[0] == "":
            return
        try:
            self.data = self._parse(valuelist[0])
        except ValidationError as error:
            raise ValueError(error.message) from None


class WholeNumberField(_ParsedByRule, IntegerField):
    """An integer typed in a form: ASCII digits only, between ``minimum`` and ``maximum``."""

    def __init__(self, *args: Any, minimum: int = 0, maximum: int = DB_INT_MAX, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _parse(self, text: str) -> int:
        return parse_int(text, label=_form_label(self), minimum=self.minimum, maximum=self.maximum)


class DecimalField(_ParsedByRule, FloatField):
    """A decimal number typed in a form (``12.5``, ``-3``), ASCII digits only, optionally bounded."""

    def __init__(self, *args: Any, minimum: float | None = None, maximum: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.minimum, self.maximum = minimum, maximum

    def _parse(self, text: str) -> float:
        return parse_decimal(text, label=_form_label(self), minimum=self.minimum, maximum=self.maximum)


def _id_or_zero(value: Any) -> int:
    """A select's value: 0 is "none chosen", anything else an id by the URL rule."""
    if isinstance(value, int):
        return value
    number = canonical_int(str(value), 0, DB_INT_MAX)
    if number is None:
        raise ValueError(value)
    return number


class IdSelectField(SelectField):
    """A ``<select>`` of records by id (0: none chosen)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", _id_or_zero)
        super().__init__(*args, **kwargs)
        self.invalid_value_message = (f"{_form_label(self)}: choose one of the options "
                                      "(the value sent is not a record's number).")


class IdMultipleField(SelectMultipleField):
    """Several records by id, e.g. the rows ticked in a list."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("coerce", _id_or_zero)
        super().__init__(*args, **kwargs)
        self.invalid_value_message = (f"{_form_label(self)}: one of the values sent is not a record's number; "
                                      "reload the page and choose again.")


class ColumnText:
    """Validator: the text obeys the rule of the model column it is stored in (control
    characters, the column's length). ``hint`` says the limit, for the field's description;
    no ``maxlength`` attribute is rendered, because a browser silently cuts pasted text to it."""

    def __init__(self, model: type, name: str, *, multiline: bool | None = None) -> None:
        self.column = text_rules.column_of(model, name)
        self.limit = text_rules.column_limit(self.column)
        self.multiline = text_rules.is_multiline(self.column) if multiline is None else multiline

    @property
    def hint(self) -> str:
        return f"Up to {self.limit} characters." if self.limit else ""

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data
        if not isinstance(value, str):
            return
        try:
            text_rules.check_text(value, label=_form_label(field), limit=self.limit, multiline=self.multiline)
        except ValidationError as error:
            raise StopValidation(error.message) from None


__all__ = [
    "ColumnText", "DatabaseIdConverter", "DecimalField", "FormError", "IdMultipleField", "IdSelectField",
    "WholeNumberField", "query_int", "query_text", "refuse_control_characters",
]


class LocalDateTimeField(DateTimeLocalField):
    """A datetime-local input typed in the user's zone; ``data`` is the aware UTC instant.

    The label names the zone ("Due (Europe/Berlin)"); a time the clocks skip is refused
    next to the field, a repeated one is its first occurrence (``local_time.to_utc``).
    """

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", zones.INPUT_FORMAT)
        super().__init__(label, validators, **kwargs)
        self.zone = zones.current_zone()
        self.label.text = f"{self.label.text} ({zones.zone_label(self.zone)})"
        self._plain_label = label or ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None:
            try:
                self.data = zones.to_utc(self.data, self.zone, label=self._plain_label or "The time")
            except ValidationError as error:
                self.data = None
                raise ValueError(error.message) from None

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        return zones.input_value(self.data, self.zone) if self.data is not None else ""


class TimeZoneField(SelectField):
    """A user's own time zone: empty for the organisation's, else an IANA name."""

    def __init__(self, label: str | None = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("validate_choice", False)  # the service says why a name is refused
        super().__init__(label, validators, **kwargs)
        self.choices = [("", f"The organisation's ({zones.zone_label(zones.organisation_zone())})")] + [
            (name, name) for name in zones.zone_names()
        ]

    def process_data(self, value: Any) -> None:
        self.data = value or ""
