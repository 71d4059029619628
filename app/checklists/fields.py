"""Checklist fields: what a detail type asks, in which groups, with which rules.

A detail class may declare ``checklist_fields`` (a tuple of ``ChecklistField``); when it
does not, the form is derived from its columns. Either way the web form, the per-answer
validation and the sign-off check all read the same definition, so a plugin's checklist
needs nothing more than its model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, String, Text

from app.models.base import utcnow
from app.services import local_time as zones
from app.services.errors import ValidationError

if TYPE_CHECKING:  # the models import this module to declare their fields
    from app.models import DispatchDetailVirtual


_ASCII_NUMBER = re.compile(r"-?[0-9]*[.,]?[0-9]+([eE][-+]?[0-9]+)?", re.ASCII)  # the form echoes 1.25e-05


class FieldKind(StrEnum):
    #: A vehicle inspection item: "OK", or a defect that needs a description (49 CFR 396.11).
    INSPECTION = "inspection"
    #: A yes/no confirmation; a required one must be confirmed before sign-off.
    CHECK = "check"
    NUMBER = "number"
    INTEGER = "integer"
    TEXT = "text"
    TEXTAREA = "textarea"
    DATE = "date"
    DATETIME = "datetime"


BOOLEAN_KINDS = (FieldKind.INSPECTION, FieldKind.CHECK)
INSPECTION_OK, INSPECTION_DEFECT = "ok", "defect"


@dataclass(frozen=True)
class ChecklistField:
    """One question of a checklist, stored in the column ``name`` of the detail table."""

    name: str
    label: str
    kind: FieldKind
    group: str = "Details"
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    help: str | None = None
    #: Name of another field this one may not be less than (mileage end ≥ mileage start).
    not_below: str | None = None
    max_length: int | None = None

    @property
    def is_boolean(self) -> bool:
        return self.kind in BOOLEAN_KINDS

    def parse(self, raw: str | None) -> Any:
        """The stored value for what was typed, or a ValidationError that says how to fix it.

        Inspection items are parsed by the service (they also record defects).
        """
        text = (raw or "").strip()
        if self.kind == FieldKind.CHECK:
            return text.lower() in ("1", "true", "on", "yes", "y")
        if not text:
            return None
        if self.kind in (FieldKind.NUMBER, FieldKind.INTEGER):
            return self._parse_number(text)
        if self.kind in (FieldKind.DATE, FieldKind.DATETIME):
            return self._parse_moment(text)
        if self.max_length is not None and len(text) > self.max_length:
            raise ValidationError(
                f"{self.label} is {len(text)} characters long; keep it to {self.max_length}.", field=self.name
            )
        return text

    def _parse_number(self, text: str) -> float | int:
        what = "a whole number" if self.kind == FieldKind.INTEGER else "a number"
        if _THOUSANDS_ONLY.match(text):
            # "12,500" is twelve thousand five hundred in some places and 12.5 in others.
            raise ValidationError(f"{self.label}: {text!r} is ambiguous; write it without a thousands separator "
                                  f"({text.replace(',', '')}) or with a decimal point.", field=self.name)
        if _THOUSANDS_WITH_DECIMALS.match(text):
            text = text.replace(",", "")
        if not _ASCII_NUMBER.fullmatch(text):
            # int() and float() also read other scripts' digits and "1_000": a reading is 0–9 only.
            raise ValidationError(f"{self.label} must be {what}, written with the digits 0–9, not {text!r}.",
                                  field=self.name)
        try:
            value: float | int = int(text) if self.kind == FieldKind.INTEGER else float(text.replace(",", "."))
        except ValueError:
            raise ValidationError(f"{self.label} must be {what}, not {text!r}.", field=self.name) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationError(f"{self.label} must be {what}, not {text!r}.", field=self.name)
        if abs(value) > _LARGEST:  # beyond what an integer column holds on every database
            raise ValidationError(f"{self.label} {text} is too large; check the reading.", field=self.name)
        unit = f" {self.unit}" if self.unit else ""
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(f"{self.label} must be at least {_number(self.minimum)}{unit}; "
                                  f"{_number(value)} is too low.", field=self.name)
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(f"{self.label} must be at most {_number(self.maximum)}{unit}; "
                                  f"{_number(value)} is too high.", field=self.name)
        return value

    def _parse_moment(self, text: str) -> date | datetime:
        try:
            if self.kind == FieldKind.DATE:
                value: date | datetime = date.fromisoformat(text)
            else:
                value = datetime.fromisoformat(text)
        except ValueError:
            example = "2026-03-31" if self.kind == FieldKind.DATE else "2026-03-31T14:30"
            raise ValidationError(f"{self.label} must be a date like {example}, not {text!r}.", field=self.name) from None
        if isinstance(value, datetime):
            # Typed as wall-clock time in the person's zone (an explicit offset is kept); stored UTC.
            value = zones.to_utc(value, label=self.label, field=self.name)
        now = utcnow()
        if (value > zones.to_local(now).date()) if self.kind == FieldKind.DATE else (value > now):
            raise ValidationError(f"{self.label} cannot be in the future; enter when it happened.", field=self.name)
        return value

    def fine_value(self) -> Any:
        """The stored value of an "all fine" answer (demo data and tests fill checklists with it)."""
        if self.is_boolean:
            return True
        if self.kind in (FieldKind.NUMBER, FieldKind.INTEGER):
            return self.maximum if self.maximum is not None else int(self.minimum or 0) + 10
        if self.kind == FieldKind.DATE:
            return zones.to_local(utcnow()).date()
        if self.kind == FieldKind.DATETIME:
            return utcnow().replace(second=0, microsecond=0)
        return "Fine"

    def fine_answer(self) -> str:
        """``fine_value`` as the form sends it."""
        return INSPECTION_OK if self.kind == FieldKind.INSPECTION else self.display(self.fine_value())

    def display(self, value: Any) -> str:
        """The value as the form shows it (and as the browser sends it back)."""
        if value is None:
            return ""
        if self.kind == FieldKind.CHECK:
            return "true" if value else ""
        if self.kind in (FieldKind.NUMBER, FieldKind.INTEGER):
            return _number(value)
        if self.kind == FieldKind.DATETIME:
            return zones.input_value(value)
        if self.kind == FieldKind.DATE:
            return value.isoformat()
        return str(value)


def _number(value: float | int) -> str:
    """Shortest text that reads back as the same number (the form echoes it as the value seen)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


_LARGEST = 2**31 - 1
_THOUSANDS_ONLY = re.compile(r"^\d{1,3}(,\d{3})+$")
_THOUSANDS_WITH_DECIMALS = re.compile(r"^\d{1,3}(,\d{3})+\.\d+$")


# Columns every detail table has, which are never questions.
_BOOKKEEPING = {"id", "dispatch_id", "detail_id", "created_at", "created_by_id", "updated_at", "updated_by_id"}


def checklist_fields(model: type[DispatchDetailVirtual]) -> tuple[ChecklistField, ...]:
    """The fields of a detail type: declared on the class, or derived from its columns."""
    declared = getattr(model, "checklist_fields", None)
    if declared:
        return tuple(declared)
    return _derived_fields(model)


def _derived_fields(model: type[DispatchDetailVirtual]) -> tuple[ChecklistField, ...]:
    skip = _BOOKKEEPING | {model.signed_off_by_column, model.signed_off_at_column}
    fields = []
    for column in model.__table__.columns:
        if column.name in skip or column.foreign_keys:
            continue
        kind, max_length = _kind_of(column.type)
        if kind is None:
            continue
        fields.append(
            ChecklistField(
                name=column.key,
                label=column.key.replace("_", " ").capitalize(),
                kind=kind,
                required=not column.nullable and column.default is None and kind not in BOOLEAN_KINDS,
                max_length=max_length,
            )
        )
    return tuple(fields)


def _kind_of(column_type) -> tuple[FieldKind | None, int | None]:
    column_type = getattr(column_type, "impl", column_type)  # a TypeDecorator (e.g. UTCDateTime) stores as its impl
    if isinstance(column_type, Boolean):
        return FieldKind.CHECK, None
    if isinstance(column_type, Integer):
        return FieldKind.INTEGER, None
    if isinstance(column_type, Float | Numeric):
        return FieldKind.NUMBER, None
    if isinstance(column_type, DateTime):
        return FieldKind.DATETIME, None
    if isinstance(column_type, Date):
        return FieldKind.DATE, None
    if isinstance(column_type, Text):
        return FieldKind.TEXTAREA, None
    if isinstance(column_type, String):
        return FieldKind.TEXT, column_type.length
    return None, None


def field_named(model: type[DispatchDetailVirtual], name: str) -> ChecklistField:
    for field in checklist_fields(model):
        if field.name == name:
            return field
    raise ValidationError(f"{model.label} has no item {name!r}.", field=name)


def groups_of(fields: tuple[ChecklistField, ...]) -> list[tuple[str, list[ChecklistField]]]:
    """Fields grouped in the order their groups first appear."""
    groups: dict[str, list[ChecklistField]] = {}
    for field in fields:
        groups.setdefault(field.group, []).append(field)
    return list(groups.items())
