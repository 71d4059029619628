"""The dispatch status machine: allowed changes, their records, refusals, and concurrency.

    Created ─► Assigned ─► En Route ─► In Progress ─► Completed
                  │  └──────────────────►┘
                  └─► Created (unassigned)
    any state that is not final ─► Cancelled
"""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine

from app.extensions import db
from app.models import Dispatch, DispatchStatus, DispatchStatusHistory, Event, User, utcnow
from app.services import dispatches
from app.services.actors import acting_as
from app.services.errors import ConcurrentUpdate, TransitionNotAllowed, ValidationError
from tests.factories import DispatchFactory, ManagerFactory, TechnicianFactory

STATUSES = [s.value for s in DispatchStatus]
CREATED, ASSIGNED, EN_ROUTE, IN_PROGRESS, COMPLETED, CANCELLED = STATUSES

# Written out by hand from the specification, not imported from the code under test.
ALLOWED = {
    (CREATED, ASSIGNED),
    (CREATED, CANCELLED),
    (ASSIGNED, EN_ROUTE),
    (ASSIGNED, IN_PROGRESS),
    (ASSIGNED, CREATED),
    (ASSIGNED, CANCELLED),
    (EN_ROUTE, IN_PROGRESS),
    (EN_ROUTE, CANCELLED),
    (IN_PROGRESS, COMPLETED),
    (IN_PROGRESS, CANCELLED),
}
DISALLOWED = sorted(set(itertools.product(STATUSES, STATUSES)) - ALLOWED)
DISALLOWED_CHANGES = [pair for pair in DISALLOWED if pair[0] != pair[1]]

# How to reach each state from Created, through the services.
PATHS = {
    CREATED: [],
    ASSIGNED: ["assign"],
    EN_ROUTE: ["assign", EN_ROUTE],
    IN_PROGRESS: ["assign", IN_PROGRESS],
    COMPLETED: ["assign", IN_PROGRESS, COMPLETED],
    CANCELLED: [CANCELLED],
}


def pair_id(pair: tuple[str, str]) -> str:
    return f"{pair[0]}->{pair[1]}".replace(" ", "_")


# --- fixtures and helpers ------------------------------------------------------------------


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


@pytest.fixture
def actor(manager):
    """Everything in the test is done as the manager (like a logged-in manager on the web)."""
    with acting_as(manager):
        yield manager


@pytest.fixture
def technician(app):
    return TechnicianFactory(name="Tess Technician")


def dispatch_in(status: str, technician) -> Dispatch:
    dispatch = DispatchFactory()
    for step in PATHS[status]:
        if step == "assign":
            dispatches.assign(dispatch, technician, "to Tess")
        else:
            dispatches.change_status(dispatch, step, "Not needed" if step == CANCELLED else None)
    assert dispatch.status == status
    return dispatch


def history_rows(dispatch_id: int) -> list[DispatchStatusHistory]:
    return list(
        db.session.scalars(
            select(DispatchStatusHistory)
            .where(DispatchStatusHistory.dispatch_id == dispatch_id)
            .order_by(DispatchStatusHistory.id)
        )
    )


def status_events(dispatch_id: int) -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .where(Event.dispatch_id == dispatch_id, Event.event_type == "dispatch.status_changed")
            .order_by(Event.id)
        )
    )


_observers: dict[str, Engine] = {}


@pytest.fixture(scope="module", autouse=True)
def _dispose_observers():
    yield
    while _observers:
        _observers.popitem()[1].dispose()


def committed_state(dispatch_id: int) -> dict:
    """What the database holds for the dispatch, read on a connection of its own."""
    url = db.engine.url.render_as_string(hide_password=False)
    if url not in _observers:
        _observers[url] = create_engine(url)
    dispatches_t, history_t, events_t = Dispatch.__table__, DispatchStatusHistory.__table__, Event.__table__
    with _observers[url].connect() as connection:
        row = connection.execute(
            select(
                dispatches_t.c.status,
                dispatches_t.c.assigned_user_id,
                dispatches_t.c.assigned_date,
                dispatches_t.c.started_date,
                dispatches_t.c.completed_date,
                dispatches_t.c.version_id,
            ).where(dispatches_t.c.id == dispatch_id)
        ).one()._asdict()
        row["history"] = connection.scalar(
            select(func.count()).select_from(history_t).where(history_t.c.dispatch_id == dispatch_id)
        )
        row["events"] = connection.scalar(
            select(func.count()).select_from(events_t).where(events_t.c.dispatch_id == dispatch_id)
        )
    return row


def between(value: datetime | None, start: datetime, end: datetime) -> bool:
    return value is not None and start <= value <= end


# --- the allowed path ------------------------------------------------------------------------


def test_allowed_transitions_match_the_specification():
    assert {(a, b) for a, targets in dispatches.ALLOWED_TRANSITIONS.items() for b in targets} == ALLOWED
    assert len(DISALLOWED) == 36 - len(ALLOWED)


def test_full_path_created_assigned_en_route_in_progress_completed(app, session, actor, technician):
    dispatch = DispatchFactory()
    assert dispatch.status == CREATED
    assert dispatch.assigned_date is None and dispatch.started_date is None and dispatch.completed_date is None

    before = utcnow()
    dispatches.assign(dispatch, technician, "Tess is nearby")
    after_assign = utcnow()
    dispatches.change_status(dispatch, EN_ROUTE, "Leaving the depot")
    after_en_route = utcnow()
    dispatches.change_status(dispatch, IN_PROGRESS, "On site")
    after_start = utcnow()
    dispatches.change_status(dispatch, COMPLETED, "All done")
    after_complete = utcnow()

    session.expire_all()
    dispatch = session.get(Dispatch, dispatch.id)
    assert dispatch.status == COMPLETED
    assert dispatch.assigned_user_id == technician.id
    assert between(dispatch.assigned_date, before, after_assign)
    assert between(dispatch.started_date, after_en_route, after_start)
    assert between(dispatch.completed_date, after_start, after_complete)
    assert dispatch.assigned_date <= dispatch.started_date <= dispatch.completed_date

    history = history_rows(dispatch.id)
    assert [(h.status_from, h.status_to) for h in history] == [
        (None, CREATED),
        (CREATED, ASSIGNED),
        (ASSIGNED, EN_ROUTE),
        (EN_ROUTE, IN_PROGRESS),
        (IN_PROGRESS, COMPLETED),
    ]
    assert [h.change_reason for h in history[1:]] == ["Tess is nearby", "Leaving the depot", "On site", "All done"]
    assert all(h.changed_by_id == actor.id for h in history[1:])

    events = status_events(dispatch.id)
    assert len(events) == 4
    assert all(e.user_id == actor.id and e.asset_id == dispatch.asset_id for e in events)
    for event, (source, target) in zip(
        events, [(CREATED, ASSIGNED), (ASSIGNED, EN_ROUTE), (EN_ROUTE, IN_PROGRESS), (IN_PROGRESS, COMPLETED)],
        strict=True,
    ):
        assert source in event.description and target in event.description
        assert dispatch.dispatch_number in event.description


def test_assign_sets_technician_date_history_and_event(app, session, actor, technician):
    dispatch = DispatchFactory()
    version = dispatch.version_id
    before = utcnow()
    dispatches.assign(dispatch, technician, "  closest technician  ")
    after = utcnow()

    state = committed_state(dispatch.id)
    assert state["status"] == ASSIGNED
    assert state["assigned_user_id"] == technician.id
    assert state["version_id"] == version + 1
    assert state["history"] == 2
    assert state["events"] == 2  # dispatch.created + dispatch.status_changed

    last = history_rows(dispatch.id)[-1]
    assert (last.status_from, last.status_to) == (CREATED, ASSIGNED)
    assert last.change_reason == "closest technician"
    assert last.changed_by_id == actor.id
    assert between(last.changed_date, before, after)
    assert between(session.get(Dispatch, dispatch.id).assigned_date, before, after)

    (event,) = status_events(dispatch.id)
    assert event.user_id == actor.id
    assert technician.name in event.description
    assert "closest technician" in event.description


def test_assigned_can_go_straight_to_in_progress(app, session, actor, technician):
    dispatch = dispatch_in(ASSIGNED, technician)
    before = utcnow()
    dispatches.change_status(dispatch, IN_PROGRESS)
    after = utcnow()

    session.expire_all()
    dispatch = session.get(Dispatch, dispatch.id)
    assert dispatch.status == IN_PROGRESS
    assert between(dispatch.started_date, before, after)
    assert dispatch.completed_date is None
    last = history_rows(dispatch.id)[-1]
    assert (last.status_from, last.status_to, last.changed_by_id) == (ASSIGNED, IN_PROGRESS, actor.id)
    assert last.change_reason is None
    assert [e.user_id for e in status_events(dispatch.id)] == [actor.id, actor.id]


@pytest.mark.parametrize("source", [CREATED, ASSIGNED, EN_ROUTE, IN_PROGRESS])
def test_every_open_state_can_be_cancelled(app, session, actor, technician, source):
    dispatch = dispatch_in(source, technician)
    before = committed_state(dispatch.id)

    dispatches.change_status(dispatch, CANCELLED, "Customer called it off")

    after = committed_state(dispatch.id)
    assert after["status"] == CANCELLED
    assert after["history"] == before["history"] + 1
    assert after["events"] == before["events"] + 1
    assert after["version_id"] == before["version_id"] + 1
    # Cancelling keeps the record of what had happened up to then.
    assert after["assigned_user_id"] == before["assigned_user_id"]
    assert after["assigned_date"] == before["assigned_date"]
    assert after["started_date"] == before["started_date"]
    last = history_rows(dispatch.id)[-1]
    assert (last.status_from, last.status_to) == (source, CANCELLED)
    assert last.change_reason == "Customer called it off"
    assert last.changed_by_id == actor.id
    assert "Customer called it off" in status_events(dispatch.id)[-1].description


@pytest.mark.parametrize("how", ["unassign", "change_status"])
def test_unassigning_goes_back_to_created_and_clears_technician(app, session, actor, technician, how):
    dispatch = dispatch_in(ASSIGNED, technician)
    assert dispatch.assigned_date is not None

    if how == "unassign":
        dispatches.unassign(dispatch, "Tess is off sick")
        reason = "Tess is off sick"
    else:
        dispatches.change_status(dispatch, CREATED)
        reason = "Unassigned"

    state = committed_state(dispatch.id)
    assert state["status"] == CREATED
    assert state["assigned_user_id"] is None
    assert state["assigned_date"] is None
    assert state["history"] == 3
    assert state["events"] == 3
    last = history_rows(dispatch.id)[-1]
    assert (last.status_from, last.status_to, last.change_reason, last.changed_by_id) == (
        ASSIGNED, CREATED, reason, actor.id,
    )

    # ... and it can be assigned again afterwards.
    other = TechnicianFactory()
    dispatches.assign(dispatch, other)
    assert committed_state(dispatch.id)["assigned_user_id"] == other.id


def test_reassigning_an_assigned_dispatch_changes_technician_and_records_it(app, session, actor, technician):
    dispatch = dispatch_in(ASSIGNED, technician)
    first_date = dispatch.assigned_date
    other = TechnicianFactory(name="Otto Other")

    dispatches.assign(dispatch, other, "Swap shifts")

    session.expire_all()
    dispatch = session.get(Dispatch, dispatch.id)
    assert dispatch.status == ASSIGNED
    assert dispatch.assigned_user_id == other.id
    assert dispatch.assigned_date >= first_date
    last = history_rows(dispatch.id)[-1]
    assert (last.status_from, last.status_to, last.change_reason) == (ASSIGNED, ASSIGNED, "Swap shifts")
    assert "Otto Other" in status_events(dispatch.id)[-1].description


def test_changes_outside_a_request_are_recorded_as_the_system_user(app, session, system_actor, technician):
    dispatch = DispatchFactory()
    dispatches.assign(dispatch, technician)
    last = history_rows(dispatch.id)[-1]
    assert last.changed_by_id == system_actor.id
    assert status_events(dispatch.id)[-1].user_id == system_actor.id


# --- refusals --------------------------------------------------------------------------------


def assert_refused_without_change(dispatch: Dispatch, before: dict, call) -> TransitionNotAllowed:
    in_memory = (dispatch.status, dispatch.version_id, dispatch.assigned_user_id)
    with pytest.raises(TransitionNotAllowed) as raised:
        call()
    assert (dispatch.status, dispatch.version_id, dispatch.assigned_user_id) == in_memory
    assert not db.session.dirty and not db.session.new
    assert committed_state(dispatch.id) == before
    return raised.value


def assert_message_names_states(message: str, current: str, target: str) -> None:
    allowed = [b for a, b in sorted(ALLOWED) if a == current]
    assert current in message
    assert target in message
    for status in allowed:
        assert status in message, f"allowed next state {status!r} missing from {message!r}"
    for status in set(STATUSES) - set(allowed) - {current, target}:
        assert status not in message, f"{status!r} is not an allowed next state but {message!r} names it"
    if not allowed:
        assert "final" in message or "none" in message.lower()


@pytest.mark.parametrize("pair", DISALLOWED, ids=pair_id)
def test_disallowed_change_is_refused_and_nothing_changes(app, session, actor, technician, pair):
    current, target = pair
    dispatch = dispatch_in(current, technician)
    before = committed_state(dispatch.id)

    error = assert_refused_without_change(dispatch, before, lambda: dispatches.change_status(dispatch, target))
    assert_message_names_states(error.message, current, target)
    assert str(error) == error.message
    assert error.field == "status"

    # The dedicated services refuse the same pairs the same way.
    if target == ASSIGNED and current != ASSIGNED:
        error = assert_refused_without_change(dispatch, before, lambda: dispatches.assign(dispatch, technician))
        assert_message_names_states(error.message, current, target)
    if target == CREATED:
        error = assert_refused_without_change(dispatch, before, lambda: dispatches.unassign(dispatch))
        assert_message_names_states(error.message, current, target)


def test_final_states_allow_nothing(app, session, actor, technician):
    for final in (COMPLETED, CANCELLED):
        dispatch = dispatch_in(final, technician)
        with pytest.raises(TransitionNotAllowed) as raised:
            dispatches.change_status(dispatch, CANCELLED if final == COMPLETED else COMPLETED)
        assert "final" in raised.value.message


@pytest.mark.parametrize("unknown", ["Lost", "completed", "", "En route"])
def test_unknown_status_is_refused(app, session, actor, technician, unknown):
    dispatch = dispatch_in(ASSIGNED, technician)
    before = committed_state(dispatch.id)
    with pytest.raises(ValidationError) as raised:
        dispatches.change_status(dispatch, unknown)
    assert not isinstance(raised.value, TransitionNotAllowed)
    assert f"Unknown status {unknown!r}" in raised.value.message
    for status in STATUSES:
        assert status in raised.value.message  # tells what the statuses are
    assert committed_state(dispatch.id) == before


def test_change_status_to_assigned_needs_a_technician(app, session, actor):
    dispatch = DispatchFactory()
    before = committed_state(dispatch.id)
    with pytest.raises(ValidationError) as raised:
        dispatches.change_status(dispatch, ASSIGNED)
    assert "technician" in raised.value.message
    assert committed_state(dispatch.id) == before


@pytest.mark.parametrize("who", ["manager", "admin", "inactive technician", "nobody"])
def test_assigning_to_anyone_but_an_active_technician_is_refused(app, session, actor, who):
    from tests.factories import AdminFactory

    assignee = {
        "manager": lambda: ManagerFactory(name="Mo Manager"),
        "admin": lambda: AdminFactory(name="Ada Admin"),
        "inactive technician": lambda: TechnicianFactory(name="Ina Inactive", is_active_user=False),
        "nobody": lambda: None,
    }[who]()
    dispatch = DispatchFactory()
    before = committed_state(dispatch.id)

    with pytest.raises(ValidationError) as raised:
        dispatches.assign(dispatch, assignee)

    assert "not an active technician" in raised.value.message
    assert raised.value.field == "assigned_user_id"
    if assignee is not None:
        assert assignee.name in raised.value.message
    assert committed_state(dispatch.id) == before
    assert not session.dirty and not session.new


def test_assigning_the_system_user_is_refused(app, session, system_actor):
    dispatch = DispatchFactory()
    system_actor.role = "technician"  # even if someone made it look like a technician
    with pytest.raises(ValidationError):
        dispatches.assign(dispatch, system_actor)
    session.rollback()
    assert committed_state(dispatch.id)["assigned_user_id"] is None


# --- plain ORM writes are checked at flush ----------------------------------------------------


@pytest.mark.parametrize("loaded", [True, False], ids=["loaded", "expired"])
@pytest.mark.parametrize("pair", DISALLOWED_CHANGES, ids=pair_id)
def test_orm_status_write_that_the_machine_forbids_is_refused_at_flush(
    app, session, actor, technician, pair, loaded
):
    current, target = pair
    dispatch = dispatch_in(current, technician)
    before = committed_state(dispatch.id)
    if loaded:
        session.refresh(dispatch)  # the old status is in memory ...
    else:
        session.expire(dispatch)  # ... or not, as right after a commit: it must be checked all the same.

    dispatch.status = target
    with pytest.raises(TransitionNotAllowed) as raised:
        session.commit()
    session.rollback()

    assert_message_names_states(raised.value.message, current, target)
    assert committed_state(dispatch.id) == before


def test_orm_status_write_that_the_machine_allows_is_refused_outside_the_service(app, session, actor, technician):
    """Only the service sets timestamps, writes history and frees capacity: a hand-written change is refused."""
    dispatch = dispatch_in(EN_ROUTE, technician)
    before = committed_state(dispatch.id)
    dispatch.status = IN_PROGRESS
    with pytest.raises(ValidationError, match="through app.services.dispatches"):
        session.commit()
    session.rollback()
    assert committed_state(dispatch.id) == before


def test_orm_write_to_an_unknown_status_is_refused_at_flush(app, session, actor):
    dispatch = DispatchFactory()
    before = committed_state(dispatch.id)
    dispatch.status = "Lost"
    with pytest.raises(ValidationError, match="Unknown status 'Lost'"):
        session.commit()
    session.rollback()
    assert committed_state(dispatch.id) == before


def test_orm_write_to_assigned_without_a_technician_is_refused_at_flush(app, session, actor):
    dispatch = DispatchFactory()
    before = committed_state(dispatch.id)
    dispatch.status = ASSIGNED
    with pytest.raises(ValidationError, match="needs a technician"):
        session.commit()
    session.rollback()
    assert committed_state(dispatch.id) == before


# --- optimistic concurrency ------------------------------------------------------------------


def test_second_of_two_concurrent_assignments_gets_concurrent_update(make_app):
    first_app, second_app = make_app(), make_app()

    with first_app.app_context():
        manager = ManagerFactory()
        tech_a = TechnicianFactory(name="Alice First")
        tech_b = TechnicianFactory(name="Bob Second")
        dispatch_id = DispatchFactory().id
        ids = {"manager": manager.id, "a": tech_a.id, "b": tech_b.id}

    with first_app.app_context():
        first_session = db.session()
        first_engine = db.engine
        stale = first_session.get(Dispatch, dispatch_id)  # loaded, version 1
        stale_tech = first_session.get(User, ids["b"])
        stale_manager = first_session.get(User, ids["manager"])
        assert stale.status == CREATED and stale.version_id == 1

        # Meanwhile another worker, on its own engine and session, assigns it first.
        with second_app.app_context():
            second_session = db.session()
            assert second_session is not first_session
            assert db.engine is not first_engine
            winner = second_session.get(Dispatch, dispatch_id)
            with acting_as(second_session.get(User, ids["manager"])):
                dispatches.assign(winner, second_session.get(User, ids["a"]), "first")

        assert db.session() is first_session
        with acting_as(stale_manager):
            with pytest.raises(ConcurrentUpdate) as raised:
                dispatches.assign(stale, stale_tech, "second")
        assert "Reload" in raised.value.message
        assert not first_session.dirty and not first_session.new

    state = committed_state_on(first_app, dispatch_id)
    assert state["status"] == ASSIGNED
    assert state["assigned_user_id"] == ids["a"]
    assert state["version_id"] == 2
    assert state["history"] == 2  # creation + the one assignment that won
    assert state["events"] == 2
    with first_app.app_context():
        assignments = [h for h in history_rows(dispatch_id) if h.status_to == ASSIGNED]
        assert [(h.status_from, h.change_reason) for h in assignments] == [(CREATED, "first")]


def test_stale_plain_orm_update_is_refused_too(make_app):
    first_app, second_app = make_app(), make_app()
    with first_app.app_context():
        dispatch_id = DispatchFactory(title="Original").id

    with first_app.app_context():
        stale = db.session.get(Dispatch, dispatch_id)
        assert stale.title == "Original"
        with second_app.app_context():
            db.session.get(Dispatch, dispatch_id).title = "Changed by the second worker"
            db.session.commit()
        stale.title = "Changed by the first worker"
        from sqlalchemy.orm.exc import StaleDataError

        with pytest.raises(StaleDataError):
            db.session.commit()
        db.session.rollback()

    with first_app.app_context():
        assert db.session.get(Dispatch, dispatch_id).title == "Changed by the second worker"


def committed_state_on(app, dispatch_id: int) -> dict:
    with app.app_context():
        return committed_state(dispatch_id)
