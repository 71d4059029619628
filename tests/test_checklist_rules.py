"""Checklist answering and sign-off rules, through the checklist service.

- ``save_answer`` is a compare-and-set on the value the user saw: a second answer given
  from the same (now stale) value is refused with ``ChecklistConflict`` and nothing of it
  is stored; answers to different items never conflict; two processes answering the same
  item at once leave exactly one answer.
- Only the assigned technician, a manager or an admin fills in a dispatch's checklists;
  a signed-off checklist, and the checklists of a final dispatch, no longer change.
- Sign-off is refused while required items are open, records who and when in the
  detail type's own columns, and happens once.
- A dispatch cannot be Completed while one of its checklists is unsigned.
- ``flask seed-demo`` completes dispatches only with signed-off checklists.

Helpers at the top of this module are shared with ``test_checklist_fields`` and
``test_defects_and_repairs``.
"""

from __future__ import annotations

import multiprocessing
import traceback

import pytest
from sqlalchemy import func, inspect, select

from app.extensions import db
from app.models import (
    Asset,
    ChecklistDefect,
    Dispatch,
    DispatchDetailVirtual,
    DispatchStatus,
    Event,
    TruckDispatchChecklist,
    User,
    VehicleDispatch,
    utcnow,
)
from app.services import checklists, dispatches
from app.services.actors import acting_as
from app.services.checklists import ChecklistConflict
from app.services.errors import ConcurrentUpdate, PermissionDenied, ValidationError
from tests.checklist_support import fill_required
from tests.conftest import base_config
from tests.factories import (
    AdminFactory,
    AssetFactory,
    AssetTypeDispatchDetailTableSetFactory,
    AssetTypeFactory,
    ManagerFactory,
    TechnicianFactory,
)

TRUCK, VEHICLE = "truck_checklist", "vehicle_dispatch"
TRUCK_INSPECTIONS = ["tires_checked", "lights_checked", "brakes_checked", "fluids_checked",
                     "safety_equipment_checked"]
TRUCK_CONFIRMATIONS = ["cargo_secured", "weight_distribution_verified", "load_manifest_verified",
                       "registration_current", "insurance_current", "permits_obtained"]


# --- Shared helpers ------------------------------------------------------------------------


def asset_with(*detail_types: str, **fields) -> Asset:
    """An asset whose (new) asset type gives each of its dispatches these checklists."""
    kind = AssetTypeFactory()
    for key in detail_types:
        AssetTypeDispatchDetailTableSetFactory(asset_type=kind, dispatch_detail_table_type=key)
    return AssetFactory(asset_type=kind, **fields)


def new_dispatch(asset: Asset, **fields) -> Dispatch:
    """A work order for ``asset``, created through the dispatch service."""
    fields.setdefault("title", "Deliver pallets to the East Hub")
    return dispatches.create_dispatch(asset_id=asset.id, auto_assign=False, **fields)


def assigned_dispatch(asset: Asset, technician: User, **fields) -> Dispatch:
    dispatch = new_dispatch(asset, **fields)
    dispatches.assign(dispatch, technician, "their job")
    return dispatch


def checklist_of(dispatch: Dispatch, model: type[DispatchDetailVirtual]) -> checklists.Checklist:
    """The dispatch's one checklist of this detail type, freshly read."""
    found = [c for c in checklists.checklists_for(dispatch) if isinstance(c.detail, model)]
    assert len(found) == 1, found
    return checklists.get_checklist(found[0].id)


def answer(detail_id: int, name: str, raw: str | None, actor: User, description: str | None = None):
    """Answer an item from the value it holds now (what a user who just loaded the page saw)."""
    checklist = checklists.get_checklist(detail_id)
    return checklists.save_answer(checklist, name, raw, seen=checklist.items[name].display, actor=actor,
                                  description=description)


def fill_and_sign(dispatch: Dispatch, actor: User) -> None:
    """Answer every required item of every checklist of the dispatch as fine, and sign them off."""
    for checklist in checklists.checklists_for(dispatch):
        checklists.sign_off(fill_required(checklist.detail, actor), actor)


def row_state(model: type[DispatchDetailVirtual], detail_id: int) -> dict:
    """Every column of the stored checklist row, read in a new session."""
    db.session.remove()
    row = db.session.scalar(select(model).where(model.detail_id == detail_id))
    return {column.key: getattr(row, column.key) for column in inspect(model).mapper.column_attrs}


def stored_facts(dispatch_id: int) -> dict:
    """What a checklist change could have written, read in a new session."""
    db.session.remove()
    return {
        "defects": db.session.scalars(
            select(ChecklistDefect.item).where(ChecklistDefect.dispatch_id == dispatch_id)).all(),
        "events": db.session.scalars(
            select(Event.event_type).where(Event.dispatch_id == dispatch_id).order_by(Event.id)).all(),
        "dispatches": db.session.scalar(select(func.count()).select_from(Dispatch)),
        "status": db.session.scalar(select(Dispatch.status).where(Dispatch.id == dispatch_id)),
    }


def events(event_type: str, **where) -> list[Event]:
    query = select(Event).where(Event.event_type == event_type).order_by(Event.id)
    for name, value in where.items():
        query = query.where(getattr(Event, name) == value)
    return list(db.session.scalars(query))


# --- Fixtures ------------------------------------------------------------------------------


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


@pytest.fixture
def technician(app):
    return TechnicianFactory(name="Tess Technician")


@pytest.fixture
def actor(manager):
    """The test body runs as the manager, like a logged-in manager on the web."""
    with acting_as(manager):
        yield manager


@pytest.fixture
def truck_job(actor, technician) -> Dispatch:
    """A truck work order assigned to Tess, with its truck checklist."""
    return assigned_dispatch(asset_with(TRUCK, asset_tag="TRK-001"), technician)


@pytest.fixture
def vehicle_job(actor, technician) -> Dispatch:
    return assigned_dispatch(asset_with(VEHICLE, asset_tag="VAN-001"), technician)


# --- Compare-and-set ------------------------------------------------------------------------


def test_second_answer_from_the_same_seen_value_conflicts_and_keeps_the_first(vehicle_job, technician, manager):
    detail_id = checklist_of(vehicle_job, VehicleDispatch).id
    seen_by_both = checklists.get_checklist(detail_id)
    assert seen_by_both.items["fuel_level_start"].display == ""

    checklists.save_answer(seen_by_both, "fuel_level_start", "75", seen="", actor=technician)
    with pytest.raises(ChecklistConflict) as conflict:
        checklists.save_answer(seen_by_both, "fuel_level_start", "40", seen="", actor=manager)

    assert conflict.value.field == "fuel_level_start"
    assert conflict.value.current.value == 75
    assert conflict.value.current.display == "75"
    assert "Tess Technician" in conflict.value.message and "'75'" in conflict.value.message
    assert "not saved" in conflict.value.message
    assert isinstance(conflict.value, ConcurrentUpdate)
    stored = row_state(VehicleDispatch, detail_id)
    assert stored["fuel_level_start"] == 75
    assert stored["updated_by_id"] == db.session.scalar(select(User.id).where(User.name == "Tess Technician"))
    answered = db.session.scalars(select(Event.description).where(Event.event_type == "checklist.answered")).all()
    assert answered == ["Vehicle dispatch: Fuel at start set to 75"]


def test_answer_from_the_current_value_after_a_conflict_is_stored(vehicle_job, technician, manager):
    detail_id = checklist_of(vehicle_job, VehicleDispatch).id
    stale = checklists.get_checklist(detail_id)
    checklists.save_answer(stale, "mileage_start", "1200", seen="", actor=technician)
    with pytest.raises(ChecklistConflict) as conflict:
        checklists.save_answer(stale, "mileage_start", "1300", seen="", actor=manager)

    state = checklists.save_answer(checklists.get_checklist(detail_id), "mileage_start", "1300",
                                   seen=conflict.value.current.display, actor=manager)
    assert state.value == 1300
    assert row_state(VehicleDispatch, detail_id)["mileage_start"] == 1300


def test_answers_to_different_items_of_one_checklist_do_not_conflict(vehicle_job, technician, manager):
    detail_id = checklist_of(vehicle_job, VehicleDispatch).id
    seen_by_both = checklists.get_checklist(detail_id)

    checklists.save_answer(seen_by_both, "fuel_level_start", "60", seen="", actor=technician)
    checklists.save_answer(seen_by_both, "mileage_start", "15000", seen="", actor=manager)
    checklists.save_answer(seen_by_both, "destination_address", "4 Canal Wharf", seen="", actor=technician)

    stored = row_state(VehicleDispatch, detail_id)
    assert (stored["fuel_level_start"], stored["mileage_start"], stored["destination_address"]) == (
        60, 15000, "4 Canal Wharf")


def test_stale_seen_value_of_a_confirmation_conflicts(truck_job, technician, manager):
    detail_id = checklist_of(truck_job, TruckDispatchChecklist).id
    seen_by_both = checklists.get_checklist(detail_id)
    checklists.save_answer(seen_by_both, "cargo_secured", "true", seen="", actor=technician)

    # The manager saw it unconfirmed and "unticks" it: it was confirmed meanwhile.
    with pytest.raises(ChecklistConflict) as conflict:
        checklists.save_answer(seen_by_both, "cargo_secured", "", seen="", actor=manager)
    assert conflict.value.current.value is True
    assert row_state(TruckDispatchChecklist, detail_id)["cargo_secured"] is True


def test_stale_seen_defect_state_of_an_inspection_item_conflicts(truck_job, technician, manager):
    detail_id = checklist_of(truck_job, TruckDispatchChecklist).id
    seen_by_both = checklists.get_checklist(detail_id)
    checklists.save_answer(seen_by_both, "brakes_checked", "defect", seen="", actor=technician,
                           description="Brake pedal goes to the floor")

    # The stored value is still "not OK" (False), but the item now holds a defect: saying
    # "OK" from the unanswered state the manager saw must not silently drop the defect.
    with pytest.raises(ChecklistConflict) as conflict:
        checklists.save_answer(seen_by_both, "brakes_checked", "ok", seen="", actor=manager)
    assert conflict.value.current.display == "defect"
    assert conflict.value.current.defect.description == "Brake pedal goes to the floor"
    with pytest.raises(ChecklistConflict):
        checklists.save_answer(seen_by_both, "brakes_checked", "defect", seen="", actor=manager,
                               description="Brakes squeal")

    stored = row_state(TruckDispatchChecklist, detail_id)
    assert stored["brakes_checked"] is False
    defects = db.session.scalars(select(ChecklistDefect)).all()
    assert [(d.item, d.description) for d in defects] == [("brakes_checked", "Brake pedal goes to the floor")]


def test_stale_seen_defect_that_was_cleared_meanwhile_conflicts(truck_job, technician, manager):
    detail_id = checklist_of(truck_job, TruckDispatchChecklist).id
    answer(detail_id, "lights_checked", "defect", technician, description="Left indicator out")
    seen_by_both = checklists.get_checklist(detail_id)
    checklists.save_answer(seen_by_both, "lights_checked", "ok", seen="defect", actor=technician)

    with pytest.raises(ChecklistConflict) as conflict:
        checklists.save_answer(seen_by_both, "lights_checked", "defect", seen="defect", actor=manager,
                               description="Left indicator out, bulb rattles")
    assert conflict.value.current.display == "ok"
    assert row_state(TruckDispatchChecklist, detail_id)["lights_checked"] is True
    assert db.session.scalar(select(func.count()).select_from(ChecklistDefect)) == 0


def test_a_seen_value_no_item_can_hold_is_a_conflict(vehicle_job, technician):
    detail_id = checklist_of(vehicle_job, VehicleDispatch).id
    with pytest.raises(ChecklistConflict):
        checklists.save_answer(checklists.get_checklist(detail_id), "fuel_level_start", "50", seen="lots",
                               actor=technician)
    assert row_state(VehicleDispatch, detail_id)["fuel_level_start"] is None


def test_unknown_item_is_refused(vehicle_job, technician):
    detail_id = checklist_of(vehicle_job, VehicleDispatch).id
    with pytest.raises(ValidationError) as refused:
        checklists.save_answer(checklists.get_checklist(detail_id), "turbo_boost", "1", seen="", actor=technician)
    assert refused.value.field == "turbo_boost"
    assert "no item 'turbo_boost'" in refused.value.message


# --- Concurrency: two processes answer the same item at once ---------------------------------

WORKER_TIMEOUT_S = 90


def _answer_at_once(url: str, detail_id: int, user_id: int, name: str, raw: str, description: str | None,
                    barrier, results) -> None:
    """Worker: own app and session; load the checklist, wait for the other, answer from ''."""
    from app import create_app

    app = None
    try:
        app = create_app({**base_config(url), "MOTORPOOL_NOTIFIERS": ""})
        with app.app_context():
            user = db.session.get(User, user_id)
            with acting_as(user):
                checklist = checklists.get_checklist(detail_id)
                seen = checklist.items[name].display
                barrier.wait(timeout=60)
                try:
                    checklists.save_answer(checklist, name, raw, seen=seen, actor=user, description=description)
                    outcome = "saved"
                except ChecklistConflict:
                    outcome = "conflict"
                except ConcurrentUpdate:
                    outcome = "concurrent update"
            db.session.remove()
    except BaseException:
        outcome = "error: " + traceback.format_exc()
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
    results.put((user_id, outcome))


def _race(url: str, detail_id: int, answers: list[tuple[int, str, str, str | None]]) -> dict[int, str]:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(answers)), context.Queue()
    processes = [context.Process(target=_answer_at_once, args=(url, detail_id, *a, barrier, results), daemon=True)
                 for a in answers]
    for process in processes:
        process.start()
    try:
        outcomes = dict(results.get(timeout=WORKER_TIMEOUT_S) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=WORKER_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
        results.close()
        results.join_thread()
    errors = [o for o in outcomes.values() if o.startswith("error")]
    assert not errors, "\n".join(errors)
    return outcomes


@pytest.fixture
def racers(actor, database_url):
    """A technician, a manager and an admin, all allowed on one job with a vehicle and a truck checklist."""
    first = TechnicianFactory(name="Racer One")
    dispatch = assigned_dispatch(asset_with(VEHICLE, TRUCK), first)
    users = [first, ManagerFactory(name="Racer Two"), AdminFactory(name="Racer Three")]
    ids = {
        "vehicle": checklist_of(dispatch, VehicleDispatch).id,
        "truck": checklist_of(dispatch, TruckDispatchChecklist).id,
        "users": [u.id for u in users],
        "url": database_url,
    }
    db.session.commit()
    db.session.close()  # nothing held open (no SQLite read snapshot) while the workers write
    return ids


def test_same_number_answered_by_several_processes_at_once_exactly_one_is_stored(racers):
    values = {uid: str(10 * (i + 3)) for i, uid in enumerate(racers["users"])}
    outcomes = _race(racers["url"], racers["vehicle"],
                     [(uid, "fuel_level_start", value, None) for uid, value in values.items()])

    winners = [uid for uid, outcome in outcomes.items() if outcome == "saved"]
    assert len(winners) == 1, outcomes
    assert all(o in ("conflict", "concurrent update") for uid, o in outcomes.items() if uid not in winners)
    stored = row_state(VehicleDispatch, racers["vehicle"])
    assert stored["fuel_level_start"] == float(values[winners[0]])
    assert stored["updated_by_id"] == winners[0]
    assert db.session.scalar(select(func.count()).select_from(Event)
                             .where(Event.event_type == "checklist.answered")) == 1


def test_same_defect_reported_by_several_processes_at_once_is_recorded_once(racers):
    outcomes = _race(racers["url"], racers["truck"],
                     [(uid, "brakes_checked", "defect", f"Brakes pull left (seen by #{uid})")
                      for uid in racers["users"]])

    winners = [uid for uid, outcome in outcomes.items() if outcome == "saved"]
    assert len(winners) == 1, outcomes
    db.session.remove()
    defects = db.session.scalars(select(ChecklistDefect)).all()
    assert [(d.item, d.description) for d in defects] == [
        ("brakes_checked", f"Brakes pull left (seen by #{winners[0]})")]
    assert defects[0].created_by_id == winners[0]


# --- Permissions and final states ------------------------------------------------------------


def test_technician_not_assigned_cannot_answer_or_sign_off(truck_job):
    other_id, number = TechnicianFactory(name="Olly Other").id, truck_job.dispatch_number
    detail_id = checklist_of(truck_job, TruckDispatchChecklist).id
    before = row_state(TruckDispatchChecklist, detail_id)
    other = db.session.get(User, other_id)

    with acting_as(other):
        with pytest.raises(PermissionDenied) as refused:
            answer(detail_id, "tires_checked", "ok", other)
        assert number in refused.value.message
        with pytest.raises(PermissionDenied):
            checklists.sign_off(checklists.get_checklist(detail_id), other)
    assert row_state(TruckDispatchChecklist, detail_id) == before


def test_assigned_technician_manager_and_admin_can_answer(truck_job, technician, manager):
    admin = AdminFactory(name="Ada Admin")
    detail_id = checklist_of(truck_job, TruckDispatchChecklist).id
    for user, item in ((technician, "tires_checked"), (manager, "lights_checked"), (admin, "brakes_checked")):
        with acting_as(user):
            assert answer(detail_id, item, "ok", user).value is True
    stored = row_state(TruckDispatchChecklist, detail_id)
    assert stored["tires_checked"] and stored["lights_checked"] and stored["brakes_checked"]


def test_manager_can_sign_off_a_technicians_checklist(truck_job, technician, manager):
    detail = checklist_of(truck_job, TruckDispatchChecklist).detail
    detail_id, manager_id = detail.detail_id, manager.id
    checklists.sign_off(fill_required(detail, technician), manager)
    assert row_state(TruckDispatchChecklist, detail_id)["completed_by_id"] == manager_id


def test_signed_off_checklist_cannot_change_and_says_who_signed_it(truck_job, technician, manager):
    detail = checklist_of(truck_job, TruckDispatchChecklist).detail
    detail_id, manager_id = detail.detail_id, manager.id
    checklists.sign_off(fill_required(detail, technician), technician)
    before = row_state(TruckDispatchChecklist, detail_id)

    manager = db.session.get(User, manager_id)
    for item, raw in (("checklist_notes", "Late note"), ("tires_checked", "defect"), ("cargo_secured", "")):
        with pytest.raises(ValidationError) as refused:
            answer(detail_id, item, raw, manager, description="Found later")
        assert "signed off by Tess Technician" in refused.value.message
        assert "can no longer change" in refused.value.message
    assert row_state(TruckDispatchChecklist, detail_id) == before
    assert db.session.scalar(select(func.count()).select_from(ChecklistDefect)) == 0


@pytest.mark.parametrize("final", [DispatchStatus.CANCELLED.value, DispatchStatus.COMPLETED.value])
def test_checklist_of_a_final_dispatch_cannot_change(final, truck_job, technician, manager):
    detail_id, manager_id = checklist_of(truck_job, TruckDispatchChecklist).id, manager.id
    if final == DispatchStatus.COMPLETED:
        fill_and_sign(truck_job, technician)
        dispatches.change_status(truck_job, DispatchStatus.IN_PROGRESS.value)
    dispatches.change_status(truck_job, final, "Not needed")
    number = truck_job.dispatch_number
    before = row_state(TruckDispatchChecklist, detail_id)

    manager = db.session.get(User, manager_id)
    with pytest.raises(ValidationError) as refused:
        answer(detail_id, "checklist_notes", "After the fact", manager)
    assert f"{number} is {final}" in refused.value.message
    if final == DispatchStatus.CANCELLED:
        with pytest.raises(ValidationError) as refused:
            checklists.sign_off(checklists.get_checklist(detail_id), manager)
        assert f"{number} is {final}" in refused.value.message
    assert row_state(TruckDispatchChecklist, detail_id) == before


# --- Sign-off ----------------------------------------------------------------------------------


def test_sign_off_is_refused_while_required_items_are_open_and_lists_them(truck_job, technician):
    detail_id = checklist_of(truck_job, TruckDispatchChecklist).id
    for name in TRUCK_INSPECTIONS[:4] + TRUCK_CONFIRMATIONS[:5]:
        answer(detail_id, name, "ok" if name in TRUCK_INSPECTIONS else "true", technician)

    with pytest.raises(ValidationError) as refused:
        checklists.sign_off(checklists.get_checklist(detail_id), technician)
    assert refused.value.field == "sign_off"
    assert "Safety equipment" in refused.value.message and "Permits obtained" in refused.value.message
    assert "Tires and wheels" not in refused.value.message and "Notes" not in refused.value.message
    stored = row_state(TruckDispatchChecklist, detail_id)
    assert stored["completed_by_id"] is None and stored["completed_date"] is None
    assert events("checklist.signed_off") == []


def test_unanswered_checklist_lists_every_required_item(vehicle_job, technician):
    detail_id = checklist_of(vehicle_job, VehicleDispatch).id
    with pytest.raises(ValidationError) as refused:
        checklists.sign_off(checklists.get_checklist(detail_id), technician)
    for label in ("Fuel at start", "Mileage at start", "Vehicle safety check"):
        assert label in refused.value.message
    for optional in ("Fuel at end", "Passengers", "Destination"):
        assert optional not in refused.value.message


def test_truck_sign_off_records_who_and_when_in_completed_columns(truck_job, technician):
    detail = checklist_of(truck_job, TruckDispatchChecklist).detail
    detail_id = detail.detail_id
    filled = fill_required(detail, technician)
    assert filled.missing == [] and filled.answered == filled.total == 11

    before = utcnow()
    repair = checklists.sign_off(filled, technician)
    after = utcnow()

    assert repair is None  # nothing defective
    signed = checklists.get_checklist(detail_id)
    assert signed.signed_off and signed.signed_off_by_id == technician.id
    assert before <= signed.signed_off_at <= after
    assert [e.user_id for e in events("checklist.signed_off", dispatch_id=truck_job.id)] == [technician.id]
    technician_id = technician.id
    stored = row_state(TruckDispatchChecklist, detail_id)
    assert stored["completed_by_id"] == stored["updated_by_id"] == technician_id
    assert stored["completed_date"] == signed.signed_off_at


def test_vehicle_sign_off_records_who_and_when_in_safety_check_columns(vehicle_job, technician):
    detail = checklist_of(vehicle_job, VehicleDispatch).detail
    detail_id, technician_id = detail.detail_id, technician.id
    checklists.sign_off(fill_required(detail, technician), technician)

    stored = row_state(VehicleDispatch, detail_id)
    assert stored["safety_check_by_id"] == technician_id
    assert stored["safety_check_date"] is not None
    assert stored["safety_check_completed"] is True
    assert db.session.get(User, technician_id).name == "Tess Technician"


def test_checklist_cannot_be_signed_off_twice(truck_job, technician, manager):
    detail = checklist_of(truck_job, TruckDispatchChecklist).detail
    detail_id = detail.detail_id
    filled = fill_required(detail, technician)
    checklists.sign_off(filled, technician)
    first = checklists.get_checklist(detail_id)
    signed_at = first.signed_off_at

    for stale_or_fresh in (filled, first):
        with pytest.raises(ValidationError) as refused:
            checklists.sign_off(stale_or_fresh, manager)
        assert "signed off by Tess Technician" in refused.value.message
    stored = row_state(TruckDispatchChecklist, detail_id)
    assert (stored["completed_date"], stored["completed_by_id"]) == (signed_at, first.signed_off_by_id)
    assert len(events("checklist.signed_off")) == 1


# --- Completion needs every checklist signed off ----------------------------------------------


@pytest.fixture
def two_checklist_job(actor, technician) -> Dispatch:
    dispatch = assigned_dispatch(asset_with(TRUCK, VEHICLE, asset_tag="TRK-002"), technician)
    dispatches.change_status(dispatch, DispatchStatus.IN_PROGRESS.value)
    return dispatch


def test_completion_is_refused_while_checklists_are_unsigned_and_names_them(two_checklist_job):
    with pytest.raises(ValidationError) as refused:
        dispatches.change_status(two_checklist_job, DispatchStatus.COMPLETED.value)
    assert refused.value.field == "status"
    assert "Truck dispatch checklist" in refused.value.message and "Vehicle dispatch" in refused.value.message
    assert two_checklist_job.dispatch_number in refused.value.message
    assert stored_facts(two_checklist_job.id)["status"] == "In Progress"


def test_completion_is_refused_while_one_checklist_is_unsigned(two_checklist_job, technician):
    number, dispatch_id = two_checklist_job.dispatch_number, two_checklist_job.id
    checklists.sign_off(fill_required(checklist_of(two_checklist_job, TruckDispatchChecklist).detail, technician),
                        technician)
    dispatch = db.session.get(Dispatch, dispatch_id)
    with pytest.raises(ValidationError) as refused:
        dispatches.change_status(dispatch, DispatchStatus.COMPLETED.value)
    assert "Vehicle dispatch" in refused.value.message
    assert "Truck dispatch checklist" not in refused.value.message
    assert number in refused.value.message
    assert stored_facts(dispatch_id)["status"] == "In Progress"


def test_completion_is_allowed_once_every_checklist_is_signed_off(two_checklist_job, technician):
    fill_and_sign(two_checklist_job, technician)
    assert checklists.unsigned_checklists(two_checklist_job) == []
    dispatches.change_status(two_checklist_job, DispatchStatus.COMPLETED.value)
    assert stored_facts(two_checklist_job.id)["status"] == "Completed"


def test_dispatch_without_checklists_can_be_completed(actor, technician):
    dispatch = assigned_dispatch(asset_with(), technician)
    dispatches.change_status(dispatch, DispatchStatus.IN_PROGRESS.value)
    dispatches.change_status(dispatch, DispatchStatus.COMPLETED.value)
    assert dispatch.status == "Completed"


def test_bulk_completion_reports_the_unsigned_checklist_per_dispatch(actor, technician):
    ready = assigned_dispatch(asset_with(VEHICLE), technician)
    waiting = assigned_dispatch(asset_with(TRUCK), technician)
    for dispatch in (ready, waiting):
        dispatches.change_status(dispatch, DispatchStatus.IN_PROGRESS.value)
    fill_and_sign(ready, technician)

    results = dispatches.bulk_change_status([ready.id, waiting.id], DispatchStatus.COMPLETED.value)
    assert [r.ok for r in results] == [True, False]
    assert "Truck dispatch checklist" in results[1].message
    assert stored_facts(waiting.id)["status"] == "In Progress"


# --- Demo data ----------------------------------------------------------------------------------


def test_seed_demo_completes_dispatches_only_with_signed_off_checklists(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--dispatches", "200"])
    assert result.exit_code == 0, result.output + repr(result.exception)

    db.session.remove()
    completed = db.session.scalars(select(Dispatch).where(Dispatch.status == "Completed")).all()
    assert completed, "the demo should complete some dispatches"
    with_checklists = 0
    for dispatch in completed:
        rows = checklists.checklists_for(dispatch)
        with_checklists += bool(rows)
        assert checklists.unsigned_checklists(dispatch) == [], dispatch.dispatch_number
        for checklist in rows:
            assert checklist.missing == [], (dispatch.dispatch_number, checklist.label)
            assert checklist.signed_off_by_id == dispatch.assigned_user_id
            assert checklist.signed_off_at <= dispatch.completed_date
    assert with_checklists == len(completed)
    # Nothing was reported defective, so nothing went out of service.
    assert db.session.scalar(select(func.count()).select_from(ChecklistDefect)) == 0
    assert db.session.scalar(select(func.count()).select_from(Asset).where(Asset.status == "Out of Service")) == 0
