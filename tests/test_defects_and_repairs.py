"""Inspection defects, repair work orders, out-of-service assets and repair certification.

- An inspection item is OK, or a defect with a description (a driver vehicle inspection
  report entry, 49 CFR 396.11).
- Signing off a checklist with defects opens a High-priority repair work order (without
  checklists), links the defects to it and takes the asset out of service, in one
  transaction with the sign-off.
- An out-of-service asset gets no new operation work order and its operation work
  orders cannot start; repair work orders are allowed.
- A manager certifies the defects repaired (once the repair work order is completed) or
  that no repair was needed (with a note; the repair work order is cancelled); the asset
  then returns to service.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AllDispatchDetail,
    Asset,
    AssetStatus,
    ChecklistDefect,
    Dispatch,
    DispatchStatus,
    DispatchStatusHistory,
    Event,
    TruckDispatchChecklist,
    User,
    VehicleDispatch,
    WorkType,
)
from app.services import checklists, dispatches
from app.services.actors import acting_as
from app.services.errors import PermissionDenied, ValidationError
from tests.checklist_support import fill_required
from tests.factories import AdminFactory, ManagerFactory, TechnicianFactory
from tests.test_checklist_rules import (
    TRUCK,
    VEHICLE,
    answer,
    asset_with,
    assigned_dispatch,
    checklist_of,
    events,
    row_state,
)

IN_PROGRESS, COMPLETED, CANCELLED, EN_ROUTE = (DispatchStatus.IN_PROGRESS.value, DispatchStatus.COMPLETED.value,
                                              DispatchStatus.CANCELLED.value, DispatchStatus.EN_ROUTE.value)
OUT, IN = AssetStatus.OUT_OF_SERVICE.value, AssetStatus.IN_SERVICE.value


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


@pytest.fixture
def technician(app):
    return TechnicianFactory(name="Tess Technician")


@pytest.fixture
def actor(manager):
    with acting_as(manager):
        yield manager


@pytest.fixture
def truck(actor) -> Asset:
    return asset_with(TRUCK, asset_tag="TRK-042")


@pytest.fixture
def trip(truck, technician) -> Dispatch:
    """Tess's truck trip, started, with its truck checklist."""
    dispatch = assigned_dispatch(truck, technician, title="Trip to the South Yard")
    dispatches.change_status(dispatch, IN_PROGRESS)
    return dispatch


def truck_checklist_id(dispatch: Dispatch) -> int:
    return checklist_of(dispatch, TruckDispatchChecklist).id


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def defects() -> list[ChecklistDefect]:
    return list(db.session.scalars(select(ChecklistDefect).order_by(ChecklistDefect.id)))


def sign_off_with_defects(dispatch: Dispatch, reporter: User, found: dict[str, str]) -> Dispatch:
    """Report these defects on the truck checklist as ``reporter``, answer the rest, sign off."""
    detail_id = truck_checklist_id(dispatch)
    with acting_as(reporter):
        for item, description in found.items():
            answer(detail_id, item, "defect", reporter, description=description)
        checklist = fill_required(checklists.get_checklist(detail_id).detail, reporter)
        repair = checklists.sign_off(checklist, reporter)
    assert repair is not None
    return repair


def complete(dispatch: Dispatch, technician: User) -> None:
    """Assign (if needed), start and complete a work order."""
    if dispatch.status == DispatchStatus.CREATED:
        dispatches.assign(dispatch, technician, "repair")
    dispatches.change_status(dispatch, IN_PROGRESS)
    dispatches.change_status(dispatch, COMPLETED)


# --- Inspection items ---------------------------------------------------------------------------


@pytest.mark.parametrize("description", [None, "", "   \n "])
def test_defect_without_description_is_refused(trip, technician, description):
    detail_id, technician_id = truck_checklist_id(trip), technician.id
    before = row_state(TruckDispatchChecklist, detail_id)
    technician = db.session.get(User, technician_id)

    with pytest.raises(ValidationError) as refused:
        answer(detail_id, "brakes_checked", "defect", technician, description=description)
    assert refused.value.field == "brakes_checked"
    assert "Describe the defect found on brakes" in refused.value.message
    assert "cannot be reported without a description" in refused.value.message
    assert row_state(TruckDispatchChecklist, detail_id) == before
    assert count(ChecklistDefect) == 0


def test_defect_description_that_is_too_long_is_refused(trip, technician):
    detail_id = truck_checklist_id(trip)
    with pytest.raises(ValidationError) as refused:
        answer(detail_id, "brakes_checked", "defect", technician, description="x" * 2001)
    assert "2001 characters" in refused.value.message and "2000" in refused.value.message
    assert count(ChecklistDefect) == 0


def test_defect_is_recorded_with_its_description_and_reporter(trip, technician):
    detail_id = truck_checklist_id(trip)
    with acting_as(technician):
        state = answer(detail_id, "brakes_checked", "defect", technician,
                       description="  Brake pedal soft, pulls to the left  ")

    assert state.display == "defect" and state.answered and state.value is False
    [defect] = defects()
    assert (defect.item, defect.item_label) == ("brakes_checked", "Brakes")
    assert defect.description == "Brake pedal soft, pulls to the left"
    assert (defect.dispatch_id, defect.detail_id, defect.asset_id) == (trip.id, detail_id, trip.asset_id)
    assert defect.created_by_id == technician.id and defect.created_at is not None
    assert defect.is_open and defect.repair_dispatch_id is None and defect.certified_at is None
    [event] = events("checklist.answered", dispatch_id=trip.id)
    assert event.user_id == technician.id and "defect (Brake pedal soft" in event.description
    # Reported but not signed off yet: the asset is still in service.
    assert db.session.get(Asset, trip.asset_id).status == IN


def test_defect_reporter_is_the_answering_user_whoever_the_session_acts_for(trip, technician, manager):
    """``save_answer(actor=...)`` records the reporter; the defect row must say the same.

    The Event and ``updated_by_id`` use the ``actor`` argument, but the defect's
    ``created_by`` comes from the ambient acting user, so the two records disagree when
    the service is called for someone else (a script, a batch, a test).
    """
    detail_id = truck_checklist_id(trip)
    answer(detail_id, "tires_checked", "defect", technician, description="Cut in the sidewall")  # acting: manager
    [defect] = defects()
    [event] = events("checklist.answered", dispatch_id=trip.id)
    assert event.user_id == technician.id
    assert defect.created_by_id == technician.id


def test_changing_the_description_keeps_one_defect(trip, technician):
    detail_id = truck_checklist_id(trip)
    answer(detail_id, "lights_checked", "defect", technician, description="Left indicator out")
    answer(detail_id, "lights_checked", "defect", technician, description="Both indicators out")
    assert [(d.item, d.description) for d in defects()] == [("lights_checked", "Both indicators out")]


def test_switching_back_to_ok_removes_the_defect(trip, technician):
    detail_id = truck_checklist_id(trip)
    answer(detail_id, "fluids_checked", "defect", technician, description="Oil leak under the engine")
    assert count(ChecklistDefect) == 1

    state = answer(detail_id, "fluids_checked", "ok", technician)
    assert state.display == "ok" and state.defect is None
    assert count(ChecklistDefect) == 0
    assert row_state(TruckDispatchChecklist, detail_id)["fluids_checked"] is True


def test_clearing_an_inspection_answer_removes_the_defect_and_reopens_the_item(trip, technician):
    detail_id = truck_checklist_id(trip)
    answer(detail_id, "fluids_checked", "defect", technician, description="Oil leak")
    state = answer(detail_id, "fluids_checked", "", technician)
    assert state.display == "" and not state.answered
    assert count(ChecklistDefect) == 0
    assert "Fluid levels and leaks" in checklists.get_checklist(detail_id).missing


@pytest.mark.parametrize("raw", ["fine", "yes", "true", "broken"])
def test_unknown_inspection_answer_is_refused(trip, technician, raw):
    detail_id = truck_checklist_id(trip)
    with pytest.raises(ValidationError) as refused:
        answer(detail_id, "tires_checked", raw, technician)
    assert refused.value.field == "tires_checked"
    assert "'ok' or 'defect'" in refused.value.message and repr(raw) in refused.value.message
    assert row_state(TruckDispatchChecklist, detail_id)["tires_checked"] is False


def test_inspection_answer_is_case_insensitive(trip, technician):
    detail_id = truck_checklist_id(trip)
    assert answer(detail_id, "tires_checked", " OK ", technician).display == "ok"


# --- Sign-off with defects --------------------------------------------------------------------------


def test_sign_off_with_a_defect_opens_a_repair_and_takes_the_asset_out_of_service(trip, technician):
    detail_id = truck_checklist_id(trip)
    repair = sign_off_with_defects(trip, technician, {"brakes_checked": "Brake pedal soft"})

    db.session.expire_all()
    assert repair.work_type == WorkType.REPAIR == "repair" and repair.is_repair
    assert repair.priority == "High"
    assert repair.asset_id == trip.asset_id
    assert repair.status == DispatchStatus.CREATED
    assert "TRK-042" in repair.title and "brakes" in repair.title
    assert trip.dispatch_number in repair.description
    assert "- Brakes: Brake pedal soft" in repair.description
    assert count(AllDispatchDetail, AllDispatchDetail.dispatch_id == repair.id) == 0
    assert checklists.checklists_for(repair) == []

    [defect] = defects()
    assert defect.repair_dispatch_id == repair.id and defect.is_open
    asset = db.session.get(Asset, trip.asset_id)
    assert asset.status == OUT
    [out] = events("asset.out_of_service", asset_id=asset.id)
    assert out.user_id == technician.id
    assert repair.dispatch_number in out.description and "brakes" in out.description
    stored = row_state(TruckDispatchChecklist, detail_id)
    assert stored["completed_by_id"] is not None and stored["brakes_checked"] is False


def test_one_repair_lists_every_defect_of_the_checklist(trip, technician):
    repair = sign_off_with_defects(trip, technician, {"tires_checked": "Tread below 2 mm",
                                                      "lights_checked": "Brake light out"})
    db.session.expire_all()
    assert "- Tires and wheels: Tread below 2 mm" in repair.description
    assert "- Lights and reflectors: Brake light out" in repair.description
    assert {d.repair_dispatch_id for d in defects()} == {repair.id}
    assert count(Dispatch, Dispatch.work_type == "repair") == 1


def test_sign_off_without_defects_opens_no_repair(trip, technician):
    detail = checklist_of(trip, TruckDispatchChecklist).detail
    assert checklists.sign_off(fill_required(detail, technician), technician) is None
    assert count(Dispatch) == 1
    assert db.session.get(Asset, trip.asset_id).status == IN
    assert events("asset.out_of_service") == []


def test_sign_off_is_one_transaction_with_the_repair(trip, technician, monkeypatch):
    detail_id, dispatch_id, asset_id = truck_checklist_id(trip), trip.id, trip.asset_id
    answer(detail_id, "brakes_checked", "defect", technician, description="Brake pedal soft")
    checklist = fill_required(checklists.get_checklist(detail_id).detail, technician)
    events_before = count(Event)

    def broken_create_dispatch(**fields):
        raise RuntimeError("the work order register is unavailable")

    monkeypatch.setattr(dispatches, "create_dispatch", broken_create_dispatch)
    with pytest.raises(RuntimeError, match="unavailable"):
        checklists.sign_off(checklist, technician)

    stored = row_state(TruckDispatchChecklist, detail_id)
    assert stored["completed_by_id"] is None and stored["completed_date"] is None
    assert db.session.get(Asset, asset_id).status == IN
    assert count(Dispatch) == 1
    assert [(d.item, d.repair_dispatch_id) for d in defects()] == [("brakes_checked", None)]
    assert count(Event) == events_before
    assert count(Event, Event.event_type.in_(("checklist.signed_off", "asset.out_of_service"))) == 0
    assert db.session.get(Dispatch, dispatch_id).status == IN_PROGRESS


def test_second_checklist_with_defects_opens_its_own_repair_but_one_out_of_service_event(actor, technician):
    asset = asset_with(TRUCK, VEHICLE, asset_tag="TRK-077")
    trip = assigned_dispatch(asset, technician)
    first = sign_off_with_defects(trip, technician, {"tires_checked": "Flat spot"})
    vehicle_id = checklist_of(trip, VehicleDispatch).id
    answer(vehicle_id, "safety_check_completed", "defect", technician, description="Mirror cracked")
    second = checklists.sign_off(fill_required(checklists.get_checklist(vehicle_id).detail, technician), technician)

    assert second is not None and second.id != first.id
    assert "- Vehicle safety check: Mirror cracked" in second.description
    assert len(events("asset.out_of_service", asset_id=asset.id)) == 1
    assert sorted(d.repair_dispatch_id for d in defects()) == sorted([first.id, second.id])


# --- Out of service ---------------------------------------------------------------------------------


@pytest.fixture
def broken(trip, technician) -> dict:
    """The truck out of service after Tess reported its brakes on her trip."""
    repair = sign_off_with_defects(trip, technician, {"brakes_checked": "Brake pedal soft"})
    return {"trip": trip, "repair": repair, "asset_id": trip.asset_id}


def test_new_operation_work_order_for_an_out_of_service_asset_is_refused(broken):
    asset_id, total = broken["asset_id"], count(Dispatch)
    with pytest.raises(ValidationError) as refused:
        dispatches.create_dispatch(title="Another trip", asset_id=asset_id)
    assert refused.value.field == "asset_id"
    assert "TRK-042 is out of service" in refused.value.message
    assert "repair work order" in refused.value.message
    db.session.remove()
    assert count(Dispatch) == total
    assert count(Dispatch, Dispatch.title == "Another trip") == 0


def test_explicit_operation_work_type_is_refused_too(broken):
    with pytest.raises(ValidationError) as refused:
        dispatches.create_dispatch(title="Another trip", asset_id=broken["asset_id"], work_type="operation")
    assert refused.value.field == "asset_id"


def test_repair_work_order_for_an_out_of_service_asset_is_allowed(broken):
    extra = dispatches.create_dispatch(title="Replace brake pads", asset_id=broken["asset_id"],
                                       work_type="repair", auto_assign=False)
    assert extra.id is not None and extra.is_repair
    assert checklists.checklists_for(extra) == []


@pytest.fixture
def later_trip(trip, technician) -> Dispatch:
    """A second trip for the same truck, planned (and assigned) while the truck was still in service."""
    return assigned_dispatch(trip.asset, technician, title="Later trip")


@pytest.mark.parametrize("target", [EN_ROUTE, IN_PROGRESS])
def test_planned_operation_work_order_cannot_move_on_while_out_of_service(trip, later_trip, technician, target):
    sign_off_with_defects(trip, technician, {"brakes_checked": "Brake pedal soft"})
    number, later_id = later_trip.dispatch_number, later_trip.id

    with pytest.raises(ValidationError) as refused:
        dispatches.change_status(later_trip, target)
    assert refused.value.field == "status"
    assert "TRK-042 is out of service" in refused.value.message and number in refused.value.message
    db.session.remove()
    assert db.session.get(Dispatch, later_id).status == DispatchStatus.ASSIGNED
    assert count(DispatchStatusHistory, DispatchStatusHistory.dispatch_id == later_id,
                 DispatchStatusHistory.status_to == target) == 0


def test_planned_operation_work_order_can_still_be_cancelled(trip, later_trip, technician):
    sign_off_with_defects(trip, technician, {"brakes_checked": "Brake pedal soft"})
    dispatches.change_status(later_trip, CANCELLED, "Truck off the road")
    assert later_trip.status == CANCELLED


def test_original_dispatch_can_be_completed_once_its_checklists_are_signed_off(broken):
    trip = broken["trip"]
    assert checklists.unsigned_checklists(trip) == []
    dispatches.change_status(trip, COMPLETED)
    assert trip.status == COMPLETED
    assert db.session.get(Asset, broken["asset_id"]).status == OUT  # completing does not certify anything


def test_repair_work_order_can_start_and_complete_while_out_of_service(broken, technician):
    repair = broken["repair"]
    dispatches.assign(repair, technician, "brakes")
    dispatches.change_status(repair, EN_ROUTE)
    dispatches.change_status(repair, IN_PROGRESS)
    dispatches.change_status(repair, COMPLETED)
    assert repair.status == COMPLETED


# --- Certification ----------------------------------------------------------------------------------


def test_technician_cannot_certify_a_repair(broken, technician):
    asset = db.session.get(Asset, broken["asset_id"])
    with pytest.raises(PermissionDenied):
        checklists.certify_repair(asset, technician, "no repair needed", notes="Looks fine to me")
    db.session.remove()
    assert db.session.get(Asset, broken["asset_id"]).status == OUT
    assert all(d.is_open for d in defects())


def test_repaired_is_refused_while_the_repair_work_order_is_open(broken, manager):
    repair_number = broken["repair"].dispatch_number
    asset = db.session.get(Asset, broken["asset_id"])
    with pytest.raises(ValidationError) as refused:
        checklists.certify_repair(asset, manager, "repaired")
    assert refused.value.field == "outcome"
    assert f"{repair_number} (Created)" in refused.value.message and "is not completed" in refused.value.message
    db.session.remove()
    assert db.session.get(Asset, broken["asset_id"]).status == OUT
    assert all(d.certification is None for d in defects())


def test_repaired_is_certified_once_the_repair_work_order_is_completed(broken, manager, technician):
    repair, asset_id = broken["repair"], broken["asset_id"]
    complete(repair, technician)
    assert repair.status == COMPLETED

    before = checklists.utcnow()
    asset = checklists.certify_repair(db.session.get(Asset, asset_id), manager, "repaired")
    assert asset.status == IN

    db.session.remove()
    assert db.session.get(Asset, asset_id).status == IN
    [defect] = defects()
    assert defect.certification == "repaired" and not defect.is_open
    assert defect.certified_by_id == db.session.scalar(select(User.id).where(User.name == "Morgan Manager"))
    assert defect.certified_at >= before and defect.certification_notes is None
    [back] = events("asset.returned_to_service", asset_id=asset_id)
    assert back.user_id == defect.certified_by_id and "repaired" in back.description
    # The asset can be operated again.
    again = dispatches.create_dispatch(title="Back on the road", asset_id=asset_id, auto_assign=False)
    assert not again.is_repair and len(checklists.checklists_for(again)) == 1


def test_repaired_is_refused_when_the_repair_work_order_was_cancelled(broken, manager):
    """Nobody repaired anything when the repair work order was cancelled: "repaired" must be refused.

    ``certify_repair`` only refuses repair work orders that are not final, and Cancelled is
    final, so the defects are certified repaired and the asset returns to service.
    """
    repair, asset_id = broken["repair"], broken["asset_id"]
    dispatches.change_status(repair, CANCELLED, "Raised by mistake")
    with pytest.raises(ValidationError) as refused:
        checklists.certify_repair(db.session.get(Asset, asset_id), manager, "repaired")
    assert repair.dispatch_number in refused.value.message
    db.session.remove()
    assert db.session.get(Asset, asset_id).status == OUT


def test_no_repair_needed_without_notes_is_refused(broken, manager):
    asset = db.session.get(Asset, broken["asset_id"])
    for notes in (None, "", "   "):
        with pytest.raises(ValidationError) as refused:
            checklists.certify_repair(asset, manager, "no repair needed", notes=notes)
        assert refused.value.field == "notes" and "why" in refused.value.message
    db.session.remove()
    assert db.session.get(Asset, broken["asset_id"]).status == OUT
    assert db.session.get(Dispatch, broken["repair"].id).status == DispatchStatus.CREATED


def test_no_repair_needed_with_notes_cancels_the_repair_and_returns_the_asset(broken, manager):
    repair_id, asset_id = broken["repair"].id, broken["asset_id"]
    checklists.certify_repair(db.session.get(Asset, asset_id), manager, "no repair needed",
                              notes="  Pedal feel normal on a road test  ")

    db.session.remove()
    repair = db.session.get(Dispatch, repair_id)
    assert repair.status == CANCELLED
    [cancelled] = [h for h in repair.status_history if h.status_to == CANCELLED]
    assert "No repair needed: Pedal feel normal on a road test" in cancelled.change_reason
    [defect] = defects()
    assert defect.certification == "no repair needed"
    assert defect.certification_notes == "Pedal feel normal on a road test"
    assert defect.certified_by_id is not None and defect.certified_at is not None
    assert db.session.get(Asset, asset_id).status == IN
    assert len(events("asset.returned_to_service", asset_id=asset_id)) == 1


def test_certification_covers_every_open_defect_of_the_asset(actor, manager, technician):
    asset = asset_with(TRUCK, VEHICLE, asset_tag="TRK-099")
    asset_id = asset.id
    trip = assigned_dispatch(asset, technician)
    first = sign_off_with_defects(trip, technician, {"tires_checked": "Flat spot", "lights_checked": "Fog lamp"})
    vehicle_id = checklist_of(trip, VehicleDispatch).id
    answer(vehicle_id, "safety_check_completed", "defect", technician, description="Seat belt frayed")
    second = checklists.sign_off(fill_required(checklists.get_checklist(vehicle_id).detail, technician), technician)

    admin = AdminFactory(name="Ada Admin")
    admin_id, repair_ids = admin.id, (first.id, second.id)
    checklists.certify_repair(db.session.get(Asset, asset_id), admin, "no repair needed", notes="Checked in the shop")

    db.session.remove()
    assert {db.session.get(Dispatch, r).status for r in repair_ids} == {CANCELLED}
    found = defects()
    assert len(found) == 3
    assert {(d.certification, d.certified_by_id) for d in found} == {("no repair needed", admin_id)}
    assert len({d.certified_at for d in found}) == 1


def test_certifying_an_asset_without_open_defects_is_refused(actor, manager, truck):
    with pytest.raises(ValidationError) as refused:
        checklists.certify_repair(truck, manager, "repaired")
    assert "TRK-042 has no defects waiting for certification" in refused.value.message
    assert events("asset.returned_to_service") == []


def test_certifying_twice_is_refused(broken, manager):
    asset = db.session.get(Asset, broken["asset_id"])
    checklists.certify_repair(asset, manager, "no repair needed", notes="Could not reproduce")
    with pytest.raises(ValidationError):
        checklists.certify_repair(db.session.get(Asset, broken["asset_id"]), manager, "no repair needed",
                                  notes="Again")
    assert len(events("asset.returned_to_service")) == 1


def test_unknown_certification_is_refused(broken, manager):
    with pytest.raises(ValidationError) as refused:
        checklists.certify_repair(db.session.get(Asset, broken["asset_id"]), manager, "fixed-ish")
    assert refused.value.field == "outcome"
    assert "'repaired'" in refused.value.message and "'no repair needed'" in refused.value.message
