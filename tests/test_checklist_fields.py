"""Checklist fields: parsing and validation of one answer, declared and derived fields.

Unit tests of ``ChecklistField`` (no database) cover every field kind; the service tests
check that a refused answer names its field, says what was wrong, and changes nothing in
the database (the row is re-read in a new session).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    select,
)

from app.checklists.fields import ChecklistField, FieldKind, checklist_fields, field_named, groups_of
from app.extensions import db
from app.models import Event, TruckDispatchChecklist, User, VehicleDispatch
from app.services import checklists
from app.services.actors import acting_as
from app.services.errors import ValidationError
from tests.checklist_support import fill_required
from tests.factories import ManagerFactory, TechnicianFactory
from tests.test_checklist_rules import VEHICLE, answer, asset_with, assigned_dispatch, checklist_of, row_state

BOOKKEEPING = {"id", "dispatch_id", "detail_id", "created_at", "created_by_id", "updated_at", "updated_by_id"}

FUEL = ChecklistField("fuel", "Fuel at start", FieldKind.NUMBER, minimum=0, maximum=100, unit="%")
PASSENGERS = ChecklistField("passengers", "Passengers", FieldKind.INTEGER, minimum=0)
SERVICED_ON = ChecklistField("serviced_on", "Serviced on", FieldKind.DATE)
LEFT_AT = ChecklistField("left_at", "Left the depot", FieldKind.DATETIME)
PLATE = ChecklistField("plate", "Trailer plate", FieldKind.TEXT, max_length=8)
CONFIRM = ChecklistField("confirmed", "Load confirmed", FieldKind.CHECK)


def refusal(field: ChecklistField, raw: str) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        field.parse(raw)
    assert refused.value.field == field.name
    assert field.label in refused.value.message
    return refused.value


# --- Numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, stored", [("0", 0), ("100", 100), ("42.5", 42.5), (" 7 ", 7), ("12,5", 12.5)])
def test_number_within_range_is_stored_as_a_number(raw, stored):
    assert FUEL.parse(raw) == stored
    assert isinstance(FUEL.parse(raw), float)


@pytest.mark.parametrize("raw, bound, word", [("-1", "0 %", "too low"), ("-0.5", "0 %", "too low"),
                                              ("101", "100 %", "too high"), ("100.01", "100 %", "too high")])
def test_number_outside_its_range_is_refused_naming_the_bound(raw, bound, word):
    message = refusal(FUEL, raw).message
    assert bound in message and word in message
    assert ("at least" if word == "too low" else "at most") in message


@pytest.mark.parametrize("raw", ["full", "1/2", "50%", "nan", "inf", "-inf", "1e400"])
def test_non_number_is_refused_with_what_was_typed(raw):
    message = refusal(FUEL, raw).message
    assert "must be a number" in message and repr(raw) in message


@pytest.mark.parametrize("raw, stored", [("0", 0), ("3", 3), ("52", 52)])
def test_whole_number_is_stored_as_int(raw, stored):
    value = PASSENGERS.parse(raw)
    assert value == stored and isinstance(value, int)


@pytest.mark.parametrize("raw", ["2.5", "two", "1,5", "3.0"])
def test_integer_field_refuses_what_is_not_a_whole_number(raw):
    assert "must be a whole number" in refusal(PASSENGERS, raw).message


def test_negative_passenger_count_is_refused():
    message = refusal(PASSENGERS, "-1").message
    assert "at least 0" in message and "-1 is too low" in message


@pytest.mark.parametrize("kind", [FieldKind.NUMBER, FieldKind.INTEGER, FieldKind.TEXT, FieldKind.DATE,
                                  FieldKind.DATETIME, FieldKind.TEXTAREA])
@pytest.mark.parametrize("raw", [None, "", "   "])
def test_empty_answer_clears_the_item(kind, raw):
    assert ChecklistField("x", "X", kind).parse(raw) is None


def test_thousands_separator_is_not_read_as_a_decimal_comma():
    """Mileage typed as "12,500" (twelve thousand five hundred) must not be stored as 12.5 km.

    The comma is read as a decimal comma, so the reading silently loses a factor of a
    thousand; it should be read as 12500 or refused as ambiguous.
    """
    mileage = ChecklistField("mileage", "Mileage at start", FieldKind.NUMBER, minimum=0, unit="km")
    try:
        value = mileage.parse("12,500")
    except ValidationError:
        return  # refusing the ambiguous reading is fine too
    assert value == 12500


# --- Check boxes, text -------------------------------------------------------------------------


@pytest.mark.parametrize("raw, stored", [("true", True), ("on", True), ("1", True), ("Yes", True),
                                         ("", False), (None, False), ("false", False), ("off", False)])
def test_check_is_true_only_for_a_confirmation(raw, stored):
    assert CONFIRM.parse(raw) is stored


def test_text_up_to_max_length_is_kept_trimmed():
    assert PLATE.parse("  AB12 CDE ") == "AB12 CDE"


def test_text_longer_than_max_length_is_refused_with_both_lengths():
    message = refusal(PLATE, "AB12 CDE 9").message
    assert "10 characters" in message and "keep it to 8" in message


# --- Dates and times: never in the future --------------------------------------------------------


def test_date_today_or_earlier_is_accepted():
    today = datetime.now(UTC).date()
    assert SERVICED_ON.parse(today.isoformat()) == today
    assert SERVICED_ON.parse("2024-02-29") == date(2024, 2, 29)


def test_date_in_the_future_is_refused():
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    message = refusal(SERVICED_ON, tomorrow.isoformat()).message
    assert "cannot be in the future" in message


@pytest.mark.parametrize("raw", ["31/03/2026", "2026-02-30", "yesterday"])
def test_malformed_date_is_refused_with_an_example(raw):
    message = refusal(SERVICED_ON, raw).message
    assert "2026-03-31" in message and repr(raw) in message


def test_datetime_in_the_past_is_stored_in_utc():
    assert LEFT_AT.parse("2025-06-01T08:30") == datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
    with_offset = LEFT_AT.parse("2025-06-01T10:30+02:00")
    assert with_offset == datetime(2025, 6, 1, 8, 30, tzinfo=UTC) and with_offset.tzinfo == UTC


def test_datetime_in_the_future_is_refused_also_with_an_offset():
    soon = datetime.now(UTC) + timedelta(hours=1)
    assert "cannot be in the future" in refusal(LEFT_AT, soon.strftime("%Y-%m-%dT%H:%M")).message
    # 10:00 at UTC+05:00 is 05:00 UTC: shown in another time zone, still in the future.
    ahead = (soon + timedelta(hours=5)).astimezone(timezone(timedelta(hours=5)))
    assert "cannot be in the future" in refusal(LEFT_AT, ahead.isoformat()).message


def test_malformed_datetime_is_refused_with_an_example():
    assert "2026-03-31T14:30" in refusal(LEFT_AT, "half past two").message


def test_display_gives_back_what_parse_reads():
    for field, raw in ((FUEL, "42.5"), (FUEL, "100"), (PASSENGERS, "3"), (SERVICED_ON, "2024-02-29"),
                       (LEFT_AT, "2025-06-01T08:30"), (PLATE, "AB12"), (CONFIRM, "true")):
        assert field.display(field.parse(raw)) == raw
        assert field.parse(field.display(field.parse(raw))) == field.parse(raw)
    assert CONFIRM.display(False) == "" and FUEL.display(None) == ""


@pytest.mark.parametrize("raw", ["123456.7", "33.333333", "1234567.25", "0.0000125"])
def test_displayed_number_reads_back_as_the_stored_number(raw):
    """The form shows ``display(value)`` and sends it back as the value the user saw.

    ``display`` formats with ``:g`` (six significant digits), so an odometer reading of
    123456.7 km is shown as "123457": the compare-and-set then never matches the stored
    value and every later answer to that item is refused as a conflict.
    """
    mileage = ChecklistField("mileage", "Mileage at start", FieldKind.NUMBER, minimum=0, unit="km")
    stored = mileage.parse(raw)
    assert mileage.parse(mileage.display(stored)) == stored


def test_displayed_datetime_with_seconds_reads_back_as_the_stored_moment():
    """A moment stored with seconds is shown to the minute, so its seen value never matches again."""
    stored = LEFT_AT.parse("2025-06-01T08:30:45")
    assert LEFT_AT.parse(LEFT_AT.display(stored)) == stored


# --- Declared fields of the built-in checklists -----------------------------------------------------


def test_vehicle_dispatch_declares_its_ranges_and_required_items():
    fields = {f.name: f for f in checklist_fields(VehicleDispatch)}
    assert {n for n, f in fields.items() if f.required} == {"fuel_level_start", "mileage_start",
                                                            "safety_check_completed"}
    assert (fields["fuel_level_start"].minimum, fields["fuel_level_start"].maximum) == (0, 100)
    assert (fields["fuel_level_end"].minimum, fields["fuel_level_end"].maximum) == (0, 100)
    assert fields["mileage_end"].not_below == "mileage_start"
    assert fields["passenger_count"].kind == FieldKind.INTEGER and fields["passenger_count"].minimum == 0
    assert fields["destination_address"].max_length == 500  # the column's length
    assert fields["safety_check_completed"].kind == FieldKind.INSPECTION
    assert not {"safety_check_by_id", "safety_check_date"} & set(fields)


def test_truck_checklist_declares_inspections_confirmations_and_notes():
    fields = checklist_fields(TruckDispatchChecklist)
    kinds = {f.name: f.kind for f in fields}
    assert [n for n, k in kinds.items() if k == FieldKind.INSPECTION] == [
        "tires_checked", "lights_checked", "brakes_checked", "fluids_checked", "safety_equipment_checked"]
    assert sum(k == FieldKind.CHECK for k in kinds.values()) == 6
    assert [name for name, _ in groups_of(fields)] == [
        "Pre-trip inspection", "Cargo and loading", "Documentation", "Notes"]
    assert all(f.required for f in fields if f.kind != FieldKind.TEXTAREA)
    assert not {"completed_by_id", "completed_date"} & set(kinds)
    columns = {c.key for c in TruckDispatchChecklist.__table__.columns}
    assert set(kinds) <= columns


def test_field_named_refuses_an_unknown_item():
    with pytest.raises(ValidationError) as refused:
        field_named(TruckDispatchChecklist, "completed_by_id")
    assert refused.value.field == "completed_by_id"


# --- Derived fields ---------------------------------------------------------------------------------


def test_plugin_checklist_without_declared_fields_is_derived_from_its_columns():
    models = pytest.importorskip("motorpool_trailers.models")
    TrailerInspection = models.TrailerInspection
    assert not TrailerInspection.checklist_fields

    fields = checklist_fields(TrailerInspection)
    assert [(f.name, f.kind) for f in fields] == [
        ("coupling_checked", FieldKind.CHECK),
        ("landing_gear_checked", FieldKind.CHECK),
        ("air_lines_checked", FieldKind.CHECK),
        ("lights_checked", FieldKind.CHECK),
        ("tyres_checked", FieldKind.CHECK),
        ("inspection_notes", FieldKind.TEXTAREA),
    ]
    assert fields[0].label == "Coupling checked" and fields[-1].label == "Inspection notes"
    names = {f.name for f in fields}
    assert not names & (BOOKKEEPING | {"completed_by_id", "completed_date"})
    assert not any(f.required for f in fields)  # check boxes and a nullable note


class _Derived:
    """A detail type shape without declared fields (a plain table: no mapped class is added)."""

    signed_off_by_column = "approved_by_id"
    signed_off_at_column = "approved_at"
    checklist_fields = ()
    __table__ = Table(
        "derived_example", MetaData(),
        Column("id", Integer, primary_key=True),
        Column("dispatch_id", Integer),
        Column("detail_id", Integer),
        Column("created_at", DateTime), Column("created_by_id", Integer),
        Column("updated_at", DateTime), Column("updated_by_id", Integer),
        Column("axle_count", Integer, nullable=False),
        Column("load_tonnes", Float),
        Column("price", Numeric(10, 2)),
        Column("serviced_on", Date),
        Column("left_at", DateTime),
        Column("plate", String(12)),
        Column("remarks", Text),
        Column("sealed", Boolean, nullable=False),
        Column("colour", String(20), nullable=False, default="white"),
        Column("raw_payload", JSON),
        Column("photo", LargeBinary),
        Column("depot_id", Integer, ForeignKey("somewhere.id")),
        Column("approved_by_id", Integer),
        Column("approved_at", DateTime),
    )


def test_derived_fields_follow_column_types_and_skip_bookkeeping_sign_off_and_links():
    fields = {f.name: f for f in checklist_fields(_Derived)}
    assert {n: f.kind for n, f in fields.items()} == {
        "axle_count": FieldKind.INTEGER,
        "load_tonnes": FieldKind.NUMBER,
        "price": FieldKind.NUMBER,
        "serviced_on": FieldKind.DATE,
        "left_at": FieldKind.DATETIME,
        "plate": FieldKind.TEXT,
        "remarks": FieldKind.TEXTAREA,
        "sealed": FieldKind.CHECK,
        "colour": FieldKind.TEXT,
    }
    assert fields["plate"].max_length == 12 and fields["remarks"].max_length is None
    # Required: NOT NULL without a default, except a check box (unticked is an answer).
    assert {n for n, f in fields.items() if f.required} == {"axle_count"}
    assert fields["serviced_on"].label == "Serviced on"
    with pytest.raises(ValidationError) as refused:
        fields["plate"].parse("X" * 13)
    assert refused.value.field == "plate"


# --- Through the service: a refused answer changes nothing -------------------------------------------


@pytest.fixture
def technician(app):
    return TechnicianFactory(name="Tess Technician")


@pytest.fixture
def actor(app):
    with acting_as(ManagerFactory(name="Morgan Manager")) as manager:
        yield manager



@pytest.fixture
def van(actor, technician) -> dict:
    """A vehicle job of Tess's, its checklist, and the ids the tests need once the session is gone."""
    dispatch = assigned_dispatch(asset_with(VEHICLE, asset_tag="VAN-009"), technician)
    return {"detail_id": checklist_of(dispatch, VehicleDispatch).id, "technician": technician}


def _answered_events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event).where(Event.event_type == "checklist.answered"))


REFUSALS = [
    ("fuel_level_start", "-1", ["Fuel at start", "at least 0 %", "too low"]),
    ("fuel_level_start", "101", ["Fuel at start", "at most 100 %", "too high"]),
    ("fuel_level_end", "150", ["Fuel at end", "at most 100 %"]),
    ("mileage_start", "twelve thousand", ["Mileage at start", "must be a number", "'twelve thousand'"]),
    ("mileage_start", "-5", ["Mileage at start", "at least 0 km"]),
    ("passenger_count", "-1", ["Passengers", "at least 0"]),
    ("passenger_count", "2.5", ["Passengers", "whole number", "'2.5'"]),
    ("destination_address", "x" * 501, ["Destination", "501 characters", "keep it to 500"]),
    ("safety_check_completed", "maybe", ["Vehicle safety check", "'ok' or 'defect'", "'maybe'"]),
]


@pytest.mark.parametrize("name, raw, phrases", REFUSALS, ids=[f"{n}={r[:8]}" for n, r, _ in REFUSALS])
def test_invalid_answer_is_refused_with_its_field_and_nothing_is_stored(van, name, raw, phrases):
    detail_id, technician = van["detail_id"], van["technician"]
    answer(detail_id, "fuel_level_start", "50", technician)
    before, answered = row_state(VehicleDispatch, detail_id), _answered_events()
    technician = db.session.get(User, before["updated_by_id"])

    with pytest.raises(ValidationError) as refused:
        answer(detail_id, name, raw, technician)

    assert refused.value.field == name
    for phrase in phrases:
        assert phrase in refused.value.message
    assert row_state(VehicleDispatch, detail_id) == before
    assert _answered_events() == answered


@pytest.mark.parametrize("name, raw, stored", [
    ("fuel_level_start", "0", 0), ("fuel_level_start", "100", 100), ("fuel_level_end", "12.5", 12.5),
    ("passenger_count", "0", 0), ("passenger_count", "7", 7), ("destination_address", "x" * 500, "x" * 500),
])
def test_answer_at_the_edge_of_its_range_is_stored(van, name, raw, stored):
    state = answer(van["detail_id"], name, raw, van["technician"])
    assert state.value == stored
    assert row_state(VehicleDispatch, van["detail_id"])[name] == stored


def test_mileage_end_below_start_is_refused(van):
    detail_id, technician = van["detail_id"], van["technician"]
    answer(detail_id, "mileage_start", "15000", technician)
    with pytest.raises(ValidationError) as refused:
        answer(detail_id, "mileage_end", "14999.5", technician)
    assert refused.value.field == "mileage_end"
    assert "cannot be less than mileage at start (15000)" in refused.value.message
    stored = row_state(VehicleDispatch, detail_id)
    assert (stored["mileage_start"], stored["mileage_end"]) == (15000, None)


def test_mileage_start_above_an_existing_end_is_refused(van):
    detail_id, technician = van["detail_id"], van["technician"]
    answer(detail_id, "mileage_start", "15000", technician)
    answer(detail_id, "mileage_end", "15200", technician)
    with pytest.raises(ValidationError) as refused:
        answer(detail_id, "mileage_start", "15201", technician)
    assert refused.value.field == "mileage_start"
    assert "cannot be more than mileage at end (15200)" in refused.value.message
    stored = row_state(VehicleDispatch, detail_id)
    assert (stored["mileage_start"], stored["mileage_end"]) == (15000, 15200)


def test_mileage_end_entered_first_then_start_below_it_and_equal_readings_are_fine(van):
    detail_id, technician = van["detail_id"], van["technician"]
    answer(detail_id, "mileage_end", "15200", technician)
    answer(detail_id, "mileage_start", "15200", technician)
    answer(detail_id, "mileage_start", "15100", technician)
    stored = row_state(VehicleDispatch, detail_id)
    assert (stored["mileage_start"], stored["mileage_end"]) == (15100, 15200)


def test_clearing_mileage_start_lets_a_higher_end_be_corrected(van):
    detail_id, technician = van["detail_id"], van["technician"]
    answer(detail_id, "mileage_start", "15000", technician)
    answer(detail_id, "mileage_end", "15200", technician)
    answer(detail_id, "mileage_end", "", technician)
    answer(detail_id, "mileage_start", "16000", technician)
    stored = row_state(VehicleDispatch, detail_id)
    assert (stored["mileage_start"], stored["mileage_end"]) == (16000, None)


def test_precise_odometer_reading_can_be_corrected_from_what_the_form_shows(van):
    """After "123456.7" is stored, the item shows "123457"; answering from that must not conflict."""
    detail_id, technician = van["detail_id"], van["technician"]
    answer(detail_id, "mileage_start", "123456.7", technician)
    state = answer(detail_id, "mileage_start", "123460", technician)  # seen = what the form shows
    assert state.value == 123460


def test_refused_answer_does_not_count_towards_sign_off(van):
    detail_id, technician = van["detail_id"], van["technician"]
    with pytest.raises(ValidationError):
        answer(detail_id, "fuel_level_start", "101", technician)
    assert "Fuel at start" in checklists.get_checklist(detail_id).missing


# --- A derived checklist works through the service like a declared one -------------------------------


def test_derived_trailer_checklist_is_answered_and_signed_off(actor, technician):
    models = pytest.importorskip("motorpool_trailers.models")
    TrailerInspection = models.TrailerInspection
    dispatch = assigned_dispatch(asset_with("trailer_inspection", asset_tag="TRL-001"), technician)
    checklist = checklist_of(dispatch, TrailerInspection)
    detail_id, technician_id = checklist.id, technician.id
    assert [i.field.name for i in checklist.items.values()][:2] == ["coupling_checked", "landing_gear_checked"]

    answer(detail_id, "coupling_checked", "on", technician)
    answer(detail_id, "inspection_notes", "Kingpin greased", technician)
    checklists.sign_off(fill_required(checklist.detail, technician), technician)

    stored = row_state(TrailerInspection, detail_id)
    assert stored["coupling_checked"] is True and stored["landing_gear_checked"] is False
    assert stored["inspection_notes"] == "Kingpin greased"
    assert stored["completed_by_id"] == technician_id and stored["completed_date"] is not None


def test_a_utc_datetime_column_is_derived_as_a_datetime_field():
    from app.checklists.fields import _kind_of
    from app.models.base import UTCDateTime

    assert _kind_of(UTCDateTime())[0] == FieldKind.DATETIME


@pytest.mark.parametrize("model", [TruckDispatchChecklist, VehicleDispatch])
def test_the_all_fine_answer_of_every_declared_field_is_valid(model):
    for field in checklist_fields(model):
        if field.kind == FieldKind.INSPECTION:
            assert field.fine_answer() == "ok"
        else:
            assert field.parse(field.fine_answer()) == field.fine_value(), field.name
