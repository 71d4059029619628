"""CSV import and export of the fleet: locations, asset types, makes/models and assets.

One CSV format per kind, with the same columns in the template, the export and the import
(docs/admin.md lists them; docs/decisions.md says why one file per kind). An import takes
one or several files at once and is all-or-nothing: every row goes through the same service
the admin pages call, inside one transaction, and any problem in any row rolls all of it
back. A dry run does exactly the same and always rolls back, so it reports every problem an
import would meet — each with its file, row and column — and writes nothing.

Kinds are imported in the order below, so a row may refer to a record defined in another
file of the same import (an asset of an asset type that is new in the asset types file).
Records referred to by name are found whatever their case, as everywhere else.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Asset, AssetType, MajorLocation, MakeModel
from app.services import assets as asset_service
from app.services import detail_sets
from app.services.errors import DomainError, ValidationError, each_error
from app.services.numbers import parse_decimal
from app.services.text import check_column_value, column_of, control_character
from app.services.transaction import transaction


@dataclass(frozen=True)
class Column:
    name: str
    help: str
    required: bool = False
    #: The model column whose text rule (length, control characters) the value obeys.
    text_of: tuple[type, str] | None = None


#: One record of each kind, for counts in words.
_ONE = {"locations": "location", "asset-types": "asset type", "make-models": "make and model", "assets": "asset"}


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def count(self, n: int) -> str:
        """``n`` records of this kind in words: "1 location", "3 makes and models"."""
        return f"{n} {self.label.lower() if n != 1 else _ONE[self.key]}"


_ACTIVE = Column("active", "yes or no (empty: yes). An inactive record is kept but offered for no new work.")

KINDS: dict[str, Kind] = {kind.key: kind for kind in (
    Kind("locations", "Locations", (
        Column("name", "The depot, yard or site; unique whatever the case.", True, (MajorLocation, "name")),
        Column("address", "Its postal address (also how a technician's home base is found).", False,
               (MajorLocation, "address")),
        Column("latitude", "Decimal degrees, -90 to 90, e.g. 53.7996."),
        Column("longitude", "Decimal degrees, -180 to 180, e.g. -1.5491."),
        _ACTIVE,
    )),
    Kind("asset-types", "Asset types", (
        Column("name", "Truck, Vehicle, Trailer…; unique whatever the case.", True, (AssetType, "name")),
        Column("description", "Free text.", False, (AssetType, "description")),
        Column("default_skill", "The skill its dispatches need by default; an existing skill, or empty.", False,
               (AssetType, "default_skill")),
        Column("checklists", "Detail types its dispatches get, by key or label, separated by ';'."),
        _ACTIVE,
    )),
    Kind("make-models", "Makes and models", (
        Column("make", "e.g. Volvo.", True, (MakeModel, "make")),
        Column("model", "e.g. FH16; make + model is unique whatever the case.", True, (MakeModel, "model")),
        Column("asset_type", "The asset type's name (existing, or in the asset types file).", True),
        Column("checklists", "Detail types it adds to its type's, by key or label, separated by ';'."),
        _ACTIVE,
    )),
    Kind("assets", "Assets", (
        Column("asset_tag", "Unique tag, e.g. TRK-0001, whatever the case.", True, (Asset, "asset_tag")),
        Column("name", "What people call it.", True, (Asset, "name")),
        Column("asset_type", "The asset type's name (existing, or in the asset types file).", True),
        Column("make", "With model: its make/model (existing, or in the makes and models file); or empty."),
        Column("model", "With make; a model of the asset's type."),
        Column("location", "The location's name (existing, or in the locations file); or empty."),
        Column("odometer", "A reading from 0, e.g. 125000; or empty."),
        _ACTIVE,
    )),
)}

#: The service's name for a value, and the column it is in.
_FIELD_COLUMNS = {
    "asset_type_id": "asset_type", "make_model_id": "model", "major_location_id": "location",
    "dispatch_detail_table_type": "checklists",
}

MAX_ROWS = 5000
#: A file read from disk by the command line may be this large; the admin page's limit is
#: lower (``WEB_MAX_FILE_BYTES``), so that a checked file fits the confirming form.
CLI_MAX_FILE_BYTES = 10 * 1024 * 1024
WEB_MAX_FILE_BYTES = 180 * 1024
#: All files of one import from the page, so that the confirming form (which carries them
#: back, base64-encoded) stays under the request body limit (``MAX_CONTENT_LENGTH``).
WEB_MAX_TOTAL_BYTES = 360 * 1024
#: Spreadsheets run a cell that starts with one of these as a formula; the export puts an
#: apostrophe before it (as spreadsheets do themselves) and the import takes it off.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None  # as a spreadsheet numbers it: the header is row 1
    column: str
    message: str

    def __str__(self) -> str:
        where = self.file + (f", row {self.row}" if self.row else "") + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class Report:
    dry_run: bool
    problems: list[Problem] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        counts = ", ".join(KINDS[key].count(count) for key, count in self.created.items() if count)
        counts = counts or "nothing"
        if self.problems:
            found = "1 problem" if len(self.problems) == 1 else f"{len(self.problems)} problems"
            return f"{found} found; nothing was imported. Fix the rows listed and try again."
        return f"Checked: would import {counts}. Nothing was written yet." if self.dry_run else f"Imported {counts}."


@dataclass
class Upload:
    """One file of an import: its kind, a name to report it by, and its bytes."""

    kind: str
    name: str
    data: bytes


class _RolledBack(Exception):
    """Ends the import's transaction without committing (a dry run, or problems found)."""


# --- Templates and export ----------------------------------------------------------------


def _writer(buffer: io.StringIO):
    return csv.writer(buffer, lineterminator="\r\n")


def template(kind: str) -> str:
    """The header row of ``kind``'s CSV, with a byte order mark so that Excel reads it as UTF-8."""
    spec = _kind(kind)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    _writer(buffer).writerow(spec.names)
    return buffer.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:
            text = f"{value:.12f}".rstrip("0").rstrip(".")
        return text[:-2] if text.endswith(".0") else text
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _checklists(owner) -> str:
    return "; ".join(row.dispatch_detail_table_type for row in detail_sets.rows_of(owner) if row.is_active)


def export(kind: str) -> str:
    """Every record of ``kind`` (active or not) in the import format, so that it round-trips."""
    spec = _kind(kind)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = _writer(buffer)
    writer.writerow(spec.names)
    if kind == "locations":
        for loc in db.session.scalars(select(MajorLocation).order_by(MajorLocation.name)):
            writer.writerow([_cell(v) for v in (loc.name, loc.address, loc.latitude, loc.longitude, loc.is_active)])
    elif kind == "asset-types":
        for t in db.session.scalars(select(AssetType).order_by(AssetType.name)):
            writer.writerow([_cell(t.name), _cell(t.description), _cell(t.default_skill), _checklists(t),
                             _cell(t.is_active)])
    elif kind == "make-models":
        for m in db.session.scalars(select(MakeModel).order_by(MakeModel.make, MakeModel.model)):
            writer.writerow([_cell(m.make), _cell(m.model), _cell(m.asset_type.name), _checklists(m),
                             _cell(m.is_active)])
    else:
        for a in db.session.scalars(select(Asset).order_by(Asset.asset_tag)):
            writer.writerow([_cell(v) for v in (
                a.asset_tag, a.name, a.asset_type.name, a.make_model.make if a.make_model else None,
                a.make_model.model if a.make_model else None, a.major_location.name if a.major_location else None,
                a.odometer, a.is_active)])
    return buffer.getvalue()


# --- Reading -----------------------------------------------------------------------------


def _kind(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValidationError(f"There is no kind {kind!r}; choose one of: {', '.join(KINDS)}.", field="kind")
    return KINDS[kind]


def max_rows() -> int:
    return current_app.config.get("FLEET_IMPORT_MAX_ROWS", MAX_ROWS)


def detect_kind(data: bytes) -> str | None:
    """The kind whose columns the file's header row has, or None."""
    try:
        first = data.decode("utf-8-sig").splitlines()[0]
    except (UnicodeDecodeError, IndexError):
        return None
    header = {name.strip().lower() for name in next(csv.reader([first]), [])}
    for key, spec in KINDS.items():
        if {c.name for c in spec.columns if c.required} <= header and header <= set(spec.names):
            return key
    return None


def _decode(upload: Upload, max_bytes: int, problems: list[Problem]) -> str | None:
    if len(upload.data) > max_bytes:
        problems.append(Problem(upload.name, None, "", (
            f"The file is {len(upload.data) / 1024:,.0f} KB; the limit is {max_bytes // 1024:,} KB. "
            "Split it into several files and import them one after another.")))
        return None
    try:
        return upload.data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte order mark
    except UnicodeDecodeError as error:
        problems.append(Problem(upload.name, None, "", (
            f"The file is not UTF-8 text (byte 0x{upload.data[error.start]:02X} at position {error.start + 1}). "
            "Save it as \"CSV UTF-8 (Comma delimited)\" (Excel) or with UTF-8 encoding, and try again.")))
        return None


def _rows(upload: Upload, text: str, problems: list[Problem]) -> list[tuple[int, dict[str, str]]]:
    """The file's rows as (spreadsheet row number, {column: trimmed value}), blank rows left out."""
    spec = KINDS[upload.kind]
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as error:
        problems.append(Problem(upload.name, None, "", f"The file is not valid CSV: {error}. "
                                                       "Save it again as CSV from the spreadsheet."))
        return []
    if not records or not any(cell.strip() for cell in records[0]):
        problems.append(Problem(upload.name, 1, "", "The file is empty: the first row must name the columns "
                                                    f"({', '.join(spec.names)}); download the template."))
        return []
    header = [name.strip().lower() for name in records[0]]
    bad = False
    for name in header:
        if name not in spec.names:
            problems.append(Problem(upload.name, 1, name, (
                f"{spec.label} files have no column {name!r}; the columns are {', '.join(spec.names)}.")))
            bad = True
    for name in sorted({name for name in header if header.count(name) > 1}):
        problems.append(Problem(upload.name, 1, name, f"The column {name!r} appears more than once."))
        bad = True
    for column in spec.columns:
        if column.required and column.name not in header:
            problems.append(Problem(upload.name, 1, column.name, f"The required column {column.name!r} is missing."))
            bad = True
    if bad:
        return []
    data_rows = [(number, record) for number, record in enumerate(records[1:], start=2)
                 if any(cell.strip() for cell in record)]
    limit = max_rows()
    if len(data_rows) > limit:
        problems.append(Problem(upload.name, None, "", (
            f"The file has {len(data_rows):,} rows; at most {limit:,} are imported at once. "
            "Split it into several files.")))
        return []
    rows = []
    for number, record in data_rows:
        if len(record) > len(header):
            problems.append(Problem(upload.name, number, "", (
                f"The row has {len(record)} cells but the header names {len(header)} columns; "
                "check for a stray comma or an unquoted value.")))
            continue
        values = {name: "" for name in spec.names}
        for name, cell in zip(header, record):
            cell = cell.strip()
            if cell.startswith("'") and cell[1:2] and cell[1] in _FORMULA_START:
                cell = cell[1:]
            values[name] = cell
        rows.append((number, values))
    return rows


# --- Importing ---------------------------------------------------------------------------


class _Row:
    """One row being imported: its values, parsed, and the problems found in it."""

    def __init__(self, importer: _Importer, upload: Upload, number: int, values: dict[str, str]) -> None:
        self.importer, self.upload, self.number, self.values = importer, upload, number, values
        self.problems = 0

    def problem(self, column: str, message: str) -> None:
        self.importer.problems.append(Problem(self.upload.name, self.number, column, message))
        self.problems += 1

    def refused(self, error: DomainError, default_column: str = "") -> None:
        """The service's refusals, each in its column, but for columns that have a problem already
        (a value that could not be read was passed on as empty, and is refused as missing)."""
        for single in each_error(error):
            column = _FIELD_COLUMNS.get(single.field or "", single.field or default_column)
            if column not in self.columns_with_problems:
                self.problem(column, single.message)

    @property
    def columns_with_problems(self) -> set[str]:
        return {p.column for p in self.importer.problems if p.file == self.upload.name and p.row == self.number}

    def text(self, name: str) -> str | None:
        spec = next(c for c in KINDS[self.upload.kind].columns if c.name == name)
        value = self.values[name]
        if not value:
            if spec.required:
                self.problem(name, f"A value is required in {name!r}.")
            return None
        try:
            if spec.text_of is not None:
                check_column_value(column_of(*spec.text_of), value, name)
            elif (problem := control_character(value, multiline=False)) is not None:
                # A name used to look a record up: PostgreSQL refuses a NUL even in a query.
                raise ValidationError(f"The value contains {problem}; remove it and try again.", field=name)
        except ValidationError as error:
            self.problem(name, error.message)
            return None
        return value

    def decimal(self, name: str, label: str) -> float | None:
        value = self.values[name]
        if not value:
            return None
        try:
            return parse_decimal(value, label=label, field=name)
        except ValidationError as error:
            self.problem(name, error.message)
            return None

    def active(self) -> bool:
        value = self.values["active"].lower()
        if value in {"", "yes", "y", "true", "1"}:
            return True
        if value in {"no", "n", "false", "0"}:
            return False
        self.problem("active", f"Write yes or no, not {self.values['active']!r}.")
        return True

    def checklists(self) -> list[str]:
        return [name.strip() for name in self.values["checklists"].split(";") if name.strip()]


class _Importer:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.created: dict[str, int] = {key: 0 for key in KINDS}
        #: Names defined by the files of this import: kind -> lowered key -> (file, row).
        self.defined: dict[str, dict] = {key: {} for key in KINDS}
        self.to_deactivate: list[tuple[_Row, object, Callable]] = []

    def _first_definition(self, row: _Row, kind: str, key, column: str, what: str) -> bool:
        seen = self.defined[kind].get(key)
        if seen is not None:
            row.problem(column, f"{what} is already in row {seen[1]} of this file; each may appear once.")
            return False
        self.defined[kind][key] = (row.upload.name, row.number)
        return True

    def _reference(self, row: _Row, kind: str, key, column: str, lookup: Callable, what: str):
        """The record named in ``column``; if it is defined by a faulty row of this import, say so."""
        try:
            return lookup()
        except DomainError as error:
            seen = self.defined[kind].get(key)
            if seen is not None:
                row.problem(column, f"{what} is defined in {seen[0]} row {seen[1]}, which has a problem; fix that row.")
            else:
                row.problem(column, f"{error.message} It is neither in the database nor in the "
                                    f"{KINDS[kind].label.lower()} file of this import.")
            return None

    def _set(self, row: _Row, owner) -> None:
        for name in row.checklists():
            try:
                detail_sets.add_to_set(owner, name)
            except DomainError as error:
                row.refused(error, "checklists")

    def location(self, row: _Row) -> None:
        name = row.text("name")
        address = row.text("address")
        latitude = row.decimal("latitude", "The latitude")
        longitude = row.decimal("longitude", "The longitude")
        active = row.active()
        if name and not self._first_definition(row, "locations", name.lower(), "name", f"The location {name!r}"):
            return
        try:
            location = asset_service.create_location(name, address, latitude, longitude)
        except DomainError as error:
            return row.refused(error)
        self._created(row, location, active, asset_service.set_location_active)

    def asset_type(self, row: _Row) -> None:
        name = row.text("name")
        description = row.text("description")
        skill = row.text("default_skill")
        active = row.active()
        if name and not self._first_definition(row, "asset-types", name.lower(), "name", f"The asset type {name!r}"):
            return
        try:
            asset_type = asset_service.create_asset_type(name, description, default_skill=skill)
        except DomainError as error:
            return row.refused(error)
        self._created(row, asset_type, active, asset_service.set_asset_type_active)
        self._set(row, asset_type)

    def make_model(self, row: _Row) -> None:
        make, model, type_name = row.text("make"), row.text("model"), row.text("asset_type")
        active = row.active()
        if make and model and not self._first_definition(
                row, "make-models", (make.lower(), model.lower()), "model", f"{make} {model}"):
            return
        asset_type = type_name and self._reference(
            row, "asset-types", type_name.lower(), "asset_type", lambda: asset_service.asset_type_named(type_name),
            f"The asset type {type_name!r}")
        try:
            make_model = asset_service.create_make_model(make, model, asset_type)
        except DomainError as error:
            return row.refused(error)
        self._created(row, make_model, active, asset_service.set_make_model_active)
        self._set(row, make_model)

    def asset(self, row: _Row) -> None:
        tag, name, type_name = row.text("asset_tag"), row.text("name"), row.text("asset_type")
        make, model, location_name = row.text("make"), row.text("model"), row.text("location")
        odometer = row.decimal("odometer", "The odometer")
        active = row.active()
        if tag and not self._first_definition(row, "assets", tag.lower(), "asset_tag", f"The asset tag {tag!r}"):
            return
        asset_type = type_name and self._reference(
            row, "asset-types", type_name.lower(), "asset_type", lambda: asset_service.asset_type_named(type_name),
            f"The asset type {type_name!r}")
        make_model = None
        if bool(make) != bool(model):
            row.problem("model" if make else "make", "Give both make and model, or leave both empty.")
        elif make:
            make_model = self._reference(
                row, "make-models", (make.lower(), model.lower()), "model",
                lambda: asset_service.make_model_named(make, model), f"{make} {model}")
        location = location_name and self._reference(
            row, "locations", location_name.lower(), "location", lambda: asset_service.location_named(location_name),
            f"The location {location_name!r}")
        try:
            asset = asset_service.create_asset(asset_tag=tag, name=name, asset_type=asset_type, make_model=make_model,
                                               location=location or None, odometer=odometer)
        except DomainError as error:
            return row.refused(error)
        self._created(row, asset, active, asset_service.set_asset_active)

    def _created(self, row: _Row, record, active: bool, setter: Callable) -> None:
        db.session.flush()  # later rows (and the detail set) refer to it by id
        # A row with a problem still runs through the service, so that the service's own
        # refusals are reported too; the import is then rolled back whatever happens.
        self.created[row.upload.kind] += 0 if row.problems else 1
        if not active:
            self.to_deactivate.append((row, record, setter))

    def deactivate(self) -> None:
        # Assets first, then models, types and locations: a record cannot be deactivated
        # while active records still refer to it.
        order = {"assets": 0, "make-models": 1, "asset-types": 2, "locations": 3}
        for row, record, setter in sorted(self.to_deactivate, key=lambda item: order[item[0].upload.kind]):
            try:
                setter(record, False)
            except DomainError as error:
                row.refused(error, "active")


_IMPORTERS = {"locations": _Importer.location, "asset-types": _Importer.asset_type,
              "make-models": _Importer.make_model, "assets": _Importer.asset}


def import_files(uploads: Iterable[Upload], *, dry_run: bool, max_bytes: int = CLI_MAX_FILE_BYTES,
                 max_total_bytes: int | None = None) -> Report:
    """Check and import ``uploads`` in one transaction; with any problem (or ``dry_run``) nothing is written."""
    uploads = list(uploads)
    importer = _Importer()
    total = sum(len(upload.data) for upload in uploads)
    if max_total_bytes is not None and total > max_total_bytes:
        importer.problems.append(Problem("", None, "", (
            f"The files are {total / 1024:,.0f} KB together; at most {max_total_bytes // 1024:,} KB are imported "
            "at once here. Import them in two goes (locations and types first), or use flask fleet import.")))
        return Report(dry_run=dry_run, problems=importer.problems, created=importer.created)
    parsed = []
    for upload in uploads:
        if upload.kind not in KINDS:
            importer.problems.append(Problem(upload.name, None, "", f"Unknown kind {upload.kind!r}; "
                                                                    f"choose one of {', '.join(KINDS)}."))
            continue
        text = _decode(upload, max_bytes, importer.problems)
        if text is not None:
            parsed.append((upload, _rows(upload, text, importer.problems)))
    if not uploads:
        importer.problems.append(Problem("", None, "", "Choose at least one file to import."))
    kinds = [upload.kind for upload in uploads]
    for kind in sorted(set(kinds)):
        if kinds.count(kind) > 1:
            importer.problems.append(Problem("", None, "", f"Two files of {KINDS[kind].label.lower()} were given; "
                                                           "combine them into one."))
    parsed.sort(key=lambda item: list(KINDS).index(item[0].kind))
    try:
        with transaction():
            # Parsing problems are known already; the rows are still run, so that the
            # report names every problem of every file at once.
            for upload, rows in parsed:
                for number, values in rows:
                    _IMPORTERS[upload.kind](importer, _Row(importer, upload, number, values))
            importer.deactivate()
            if dry_run or importer.problems:
                raise _RolledBack
    except _RolledBack:
        pass
    finally:
        db.session.expire_all()
    files = [upload.name for upload, _ in parsed]
    def order(problem: Problem):
        spec = KINDS.get(next((u.kind for u, _ in parsed if u.name == problem.file), ""), None)
        names = spec.names if spec else []
        return (files.index(problem.file) if problem.file in files else -1, problem.row or 0,
                names.index(problem.column) if problem.column in names else -1)
    importer.problems.sort(key=order)
    return Report(dry_run=dry_run, problems=importer.problems, created=importer.created)
