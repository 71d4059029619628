"""The matching service (``app.services.matching``) on a real database, and ``flask dispatch …``.

Loading the pool, hard constraints with reasons, auto-assignment and the metrics it
records, SLA due times, required skills, manual assignment, capacity claims and releases,
completion counters, fallback routing (decline, unavailable) and the batch command.
"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, update

from app.extensions import db
from app.models import (
    Availability,
    Dispatch,
    DispatchMetric,
    DispatchStatusHistory,
    Event,
    TechnicianProfile,
    utcnow,
)
from app.services import dispatches as dispatch_service
from app.services import matching
from app.services.actors import acting_as
from app.services.capacity import CapacityExceeded
from app.services.errors import ValidationError
from tests import matching_support as ms
from tests.factories import ManagerFactory

DEFAULT_SLA_HOURS = {"Critical": 4, "High": 8, "Normal": 24, "Low": 72}


@pytest.fixture
def app(make_app, tmp_path):
    """The suite's app, with "assigned to you" notifications going to the test's own log file."""
    app = make_app(MOTORPOOL_NOTIFIERS="log_file", MOTORPOOL_NOTIFICATION_LOG=str(tmp_path / "notifications.log"))
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def actor(system_actor):
    return system_actor


@pytest.fixture
def auto_assign_on(app):
    app.config["MOTORPOOL_AUTO_ASSIGN"] = True


def metrics_of(dispatch: Dispatch) -> list[DispatchMetric]:
    return list(db.session.scalars(
        select(DispatchMetric).where(DispatchMetric.dispatch_id == dispatch.id).order_by(DispatchMetric.id)
    ))


def events_of(dispatch: Dispatch, event_type: str) -> list[str]:
    return list(db.session.scalars(
        select(Event.description).where(Event.dispatch_id == dispatch.id, Event.event_type == event_type)
        .order_by(Event.id)
    ))


def history_of(dispatch: Dispatch) -> list[tuple]:
    return [
        (row.status_from, row.status_to, row.change_reason)
        for row in db.session.scalars(
            select(DispatchStatusHistory).where(DispatchStatusHistory.dispatch_id == dispatch.id)
            .order_by(DispatchStatusHistory.id)
        )
    ]


def fresh(dispatch: Dispatch) -> Dispatch:
    db.session.expire_all()
    return db.session.get(Dispatch, dispatch.id)


def complete(dispatch: Dispatch) -> None:
    dispatch_service.change_status(dispatch, "In Progress")
    dispatch_service.change_status(dispatch, "Completed")


# --- Loading the pool --------------------------------------------------------------------------


class QueryCounter:
    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc_info):
        event.remove(self.engine, "before_cursor_execute", self)


def _team(size: int, offset: int) -> None:
    """``size`` technicians with two skills each, one of them busy, plus recent work."""
    people = [
        ms.technician(f"Crew {offset + i}", at=ms.km_east(i % 17), skills={"diesel": 1 + i % 5, f"skill-{i % 4}": 2})
        for i in range(size)
    ]
    busy = ms.dispatch(priority="High")
    dispatch_service.assign(busy, people[0])
    done = ms.dispatch()
    dispatch_service.assign(done, people[-1])
    complete(done)
    ms.dispatch()  # waiting: counts towards skill demand


def test_load_pool_issues_a_constant_number_of_queries_for_3_or_40_technicians(app, actor):
    counts = {}
    for size, offset in ((3, 0), (40, 100)):
        _team(size, offset)
        db.session.expire_all()
        with QueryCounter(db.engine) as counter:
            loaded = matching.load_pool()
        assert len(loaded.pool) == {3: 3, 40: 43}[size]
        counts[size] = len(counter.statements)
    assert counts[3] == counts[40]
    # New technicians moved the pool's version, so each of those loads read the kept part:
    # version, profiles, skills, skill levels, then fast columns, urgent load, recent work,
    # demand, positions.
    assert counts[40] <= 9
    with QueryCounter(db.engine) as counter:
        matching.load_pool()
    assert len(counter.statements) <= 6  # nothing changed: the kept part is only checked


def test_load_pool_reads_profiles_skills_load_and_history_into_arrays(app, actor):
    alice = ms.technician("Alice", at=ms.km_east(5), skills={"diesel": 4, "hydraulics": 2}, max_concurrent=2,
                          hourly_rate=55.0)
    bob = ms.technician("Bob", skills={"hydraulics": 5})
    urgent = ms.dispatch(priority="Critical")
    dispatch_service.assign(urgent, alice)
    done = ms.dispatch(skill_name="hydraulics")
    dispatch_service.assign(done, bob)
    complete(done)
    ms.dispatch(skill_name="hydraulics")  # waiting

    loaded = matching.load_pool()
    pool = loaded.pool
    row = {int(t): i for i, t in enumerate(pool.technician_ids)}
    a, b = row[alice.id], row[bob.id]
    skill = {name: j for j, name in enumerate(pool.skills)}
    assert pool.skill_levels[a, skill["diesel"]] == 4 and pool.skill_levels[a, skill["hydraulics"]] == 2
    assert pool.skill_levels[b, skill["diesel"]] == 0 and pool.skill_levels[b, skill["hydraulics"]] == 5
    assert (pool.active_count[a], pool.max_concurrent[a], pool.active_urgent_count[a]) == (1, 2, 1)
    assert (pool.active_count[b], pool.completed_count[b], pool.on_time_count[b], pool.first_time_fix_count[b]) == (
        0, 1, 1, 1)
    assert pool.hourly_rate[a] == 55.0
    assert pool.longitude[a] == pytest.approx(ms.km_east(5)[1])
    assert pool.pending_skill_demand[skill["hydraulics"]] == 1
    assert bool(pool.on_shift[a]) and bool(pool.available[a])
    assert loaded.technicians[alice.id].name == "Alice"


def test_only_active_technicians_with_a_profile_are_in_the_pool(app, actor):
    from tests.factories import TechnicianFactory

    kept = ms.technician()
    gone = ms.technician()
    gone.is_active_user = False
    db.session.commit()
    TechnicianFactory()  # no profile
    assert matching.load_pool().pool.technician_ids.tolist() == [kept.id]


# --- Hard constraints --------------------------------------------------------------------------


def test_hard_constraints_exclude_with_reasons(app, actor):
    eligible = ms.technician("Ellie Eligible")
    away = ms.technician("Una Unavailable", availability=Availability.UNAVAILABLE.value)
    off = ms.technician("Otto Offshift", shift_days=ms.off_shift_days())
    full = ms.technician("Cara Capacity", max_concurrent=1)
    tired = ms.technician("Walt Weekly", max_hours_per_week=10)

    dispatch_service.assign(ms.dispatch(), full)
    worked = ms.dispatch(hours=9)
    dispatch_service.assign(worked, tired)
    complete(worked)
    # Nine hours of work yesterday-to-now: started nine hours before it was completed.
    db.session.execute(update(Dispatch).where(Dispatch.id == worked.id)
                       .values(started_date=worked.completed_date - timedelta(hours=9)))
    db.session.commit()

    ranking = matching.rank(ms.dispatch(hours=2))
    assert [c.technician_id for c in ranking.outcome.ranked] == [eligible.id]
    assert ranking.outcome.excluded == {
        away.id: "unavailable",
        off.id: "off shift",
        full.id: "at capacity (1/1)",
        tired.id: "over weekly hours (9.0 + 2.0 > 10)",
    }
    assert ranking.excluded_summary() == "1 at capacity, 1 off shift, 1 over weekly hours, 1 unavailable"


def test_an_unavailable_technician_is_available_again_after_unavailable_until(app, actor):
    back = ms.technician("Back Soon", availability=Availability.UNAVAILABLE.value,
                         unavailable_until=utcnow() - timedelta(minutes=1))
    later = ms.technician("Back Later", availability=Availability.UNAVAILABLE.value,
                          unavailable_until=utcnow() + timedelta(hours=1))
    ranking = matching.rank(ms.dispatch())
    assert [c.technician_id for c in ranking.outcome.ranked] == [back.id]
    assert ranking.outcome.excluded == {later.id: "unavailable"}


def test_with_no_candidate_the_dispatch_stays_created_and_an_event_says_why(app, actor, auto_assign_on):
    ms.technician(availability=Availability.UNAVAILABLE.value)
    ms.technician(shift_days=ms.off_shift_days())

    dispatch = ms.dispatch(auto_assign=None)

    dispatch = fresh(dispatch)
    assert (dispatch.status, dispatch.assigned_user_id) == ("Created", None)
    assert metrics_of(dispatch) == []
    assert events_of(dispatch, "dispatch.not_assigned") == [
        f"No technician could take {dispatch.dispatch_number}; it stays Created. "
        "Excluded: 1 off shift, 1 unavailable."
    ]


def test_with_no_technicians_at_all_the_event_says_so(app, actor, auto_assign_on):
    dispatch = fresh(ms.dispatch(auto_assign=None))
    assert dispatch.status == "Created"
    assert events_of(dispatch, "dispatch.not_assigned") == [
        f"No technician could take {dispatch.dispatch_number}; it stays Created. "
        "Excluded: there are no active technicians with a profile."
    ]


# --- Auto-assignment and its metrics ----------------------------------------------------------


def test_new_dispatches_stay_created_when_auto_assign_is_off(app, actor):
    assert app.config["MOTORPOOL_AUTO_ASSIGN"] is False
    ms.technician()
    dispatch = fresh(ms.dispatch(auto_assign=None))
    assert dispatch.status == "Created" and metrics_of(dispatch) == []


def test_auto_assign_on_creation_records_a_complete_metric(app, actor, auto_assign_on):
    best = ms.technician("Best", at=ms.km_east(10), skills={"diesel": 5}, hourly_rate=40.0)
    others = [
        ms.technician("Second", at=ms.km_east(2), skills={"diesel": 3}),
        ms.technician("Third", at=ms.km_east(30), skills={"diesel": 4}),
        ms.technician("Fourth", at=ms.km_east(60), skills={"diesel": 2}),
        ms.technician("Fifth", at=ms.km_east(90), skills={"diesel": 1}),
    ]

    dispatch = fresh(ms.dispatch(at=ms.LEEDS, hours=2.0, auto_assign=None))

    assert (dispatch.status, dispatch.assigned_user_id) == ("Assigned", best.id)
    assert history_of(dispatch)[-1] == ("Created", "Assigned", "Automatic assignment (weighted)")
    [metric] = metrics_of(dispatch)
    assert (metric.mode, metric.matcher, metric.technician_id, metric.fallback_used, metric.note) == (
        "auto", "weighted", best.id, False, None)
    assert 0 <= metric.routing_speed_seconds < 60
    # Newcomer (duration multiplier 1): 10 km at 50 km/h, then the two hours of work.
    assert metric.estimated_completion_hours == pytest.approx(2.2, abs=0.01)
    travel_cost = 10 * 0.5
    assert 40.0 * 2.2 + travel_cost - 0.1 <= metric.operational_cost <= 40.0 * 1.5 * 2.2 + travel_cost + 0.1
    assert metric.sla_met is True
    # Half weekly hours (2/40), a third concurrent load (1/3), no streak.
    assert metric.burnout_risk == pytest.approx(0.5 * 2 / 40 + 0.2 * 1 / 3, abs=1e-3)
    assert metric.burnout_alert is False

    ranking = matching.rank(dispatch)  # the same pool, one slot of Best taken since
    assert len(metric.fallback_technicians) == 3
    fallback_ids = [f["technician_id"] for f in metric.fallback_technicians]
    assert best.id not in fallback_ids and set(fallback_ids) <= {t.id for t in others}
    scores = [f["score"] for f in metric.fallback_technicians]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= metric.score for s in scores)
    assert metric.score == pytest.approx(metric.score_breakdown["total"], abs=1e-6)
    for factor in ("skill", "distance", "availability", "priority_balance", "skill_diversity", "history"):
        assert 0.0 <= metric.score_breakdown[factor] <= 1.0
    assert metric.score_breakdown["skill"] == pytest.approx(1.0)
    assert ranking.matcher == "weighted"


def test_sla_is_not_expected_to_be_met_when_the_work_outlasts_it(app, actor, auto_assign_on):
    ms.technician(skills={"diesel": 5})
    dispatch = fresh(ms.dispatch(priority="Critical", hours=5.0, auto_assign=None))
    [metric] = metrics_of(dispatch)
    assert metric.estimated_completion_hours == pytest.approx(5.0, abs=0.01)
    assert metric.sla_met is False


def test_a_technician_at_the_limit_of_their_week_raises_the_burnout_alert(app, actor, auto_assign_on):
    ms.technician(max_hours_per_week=2.0)
    dispatch = fresh(ms.dispatch(hours=2.0, auto_assign=None))
    [metric] = metrics_of(dispatch)
    assert metric.burnout_alert is True and metric.burnout_risk >= 0.5


# --- SLA due time and priority ----------------------------------------------------------------


@pytest.mark.parametrize("priority", list(DEFAULT_SLA_HOURS))
def test_sla_due_time_comes_from_the_priority_when_there_is_no_due_date(app, actor, priority):
    dispatch = fresh(ms.dispatch(priority=priority))
    assert dispatch.sla_due_at == dispatch.created_date + timedelta(hours=DEFAULT_SLA_HOURS[priority])


def test_sla_hours_are_configurable(app, actor):
    app.config["MOTORPOOL_SLA_HOURS"] = {"Critical": 1, "High": 2, "Normal": 3, "Low": 5}
    dispatch = fresh(ms.dispatch(priority="High"))
    assert dispatch.sla_due_at == dispatch.created_date + timedelta(hours=2)


def test_a_due_date_is_the_sla(app, actor):
    due = ms.due_in(100)
    dispatch = fresh(ms.dispatch(priority="Critical", due_date=due))
    assert dispatch.sla_due_at == due


def test_set_priority_moves_the_sla_and_records_an_event(app, actor):
    dispatch = ms.dispatch(priority="Normal")
    matching.set_priority(dispatch, "Critical", "Customer escalated")
    dispatch = fresh(dispatch)
    assert dispatch.priority == "Critical"
    assert dispatch.sla_due_at == dispatch.created_date + timedelta(hours=4)
    assert events_of(dispatch, "dispatch.priority_changed") == [
        f"Priority of {dispatch.dispatch_number} changed from Normal to Critical: Customer escalated"
    ]
    matching.set_priority(dispatch, "Low")
    assert fresh(dispatch).sla_due_at == dispatch.created_date + timedelta(hours=72)


def test_set_priority_keeps_a_due_date_as_the_sla(app, actor):
    dispatch = ms.dispatch(priority="Normal", due_date=ms.due_in(30))
    before = fresh(dispatch).sla_due_at
    matching.set_priority(dispatch, "Critical")
    assert fresh(dispatch).sla_due_at == before


def test_set_priority_refuses_unknown_priorities_and_final_dispatches(app, actor):
    dispatch = ms.dispatch()
    with pytest.raises(ValidationError, match="Unknown priority 'Urgent'"):
        matching.set_priority(dispatch, "Urgent")
    dispatch_service.change_status(dispatch, "Cancelled", "Not needed")
    with pytest.raises(ValidationError, match="is Cancelled; its priority can no longer change"):
        matching.set_priority(dispatch, "High")
    assert fresh(dispatch).priority == "Normal"


# --- Required skill ---------------------------------------------------------------------------


def test_required_skill_defaults_from_the_asset_type(app, actor):
    kind = ms.asset_type(default_skill="refrigeration")
    dispatch = fresh(ms.dispatch(skill_name=None, on=ms.asset(kind=kind)))
    assert dispatch.required_skill == "refrigeration"
    explicit = fresh(ms.dispatch(skill_name="diesel", on=ms.asset(kind=kind)))
    assert explicit.required_skill == "diesel"


def test_the_required_skill_decides_who_is_best(app, actor):
    fridge = ms.technician("Fridge Expert", skills={"refrigeration": 5, "diesel": 1})
    engine = ms.technician("Engine Expert", skills={"diesel": 5})
    kind = ms.asset_type(default_skill="refrigeration")
    by_default = matching.rank(ms.dispatch(skill_name=None, on=ms.asset(kind=kind)))
    by_diesel = matching.rank(ms.dispatch(skill_name="diesel"))
    assert by_default.outcome.ranked[0].technician_id == fridge.id
    assert by_diesel.outcome.ranked[0].technician_id == engine.id


def test_an_unknown_required_skill_is_refused_and_nothing_is_written(app, actor):
    from app.services.dispatches import create_dispatch

    asset = ms.asset()
    with pytest.raises(ValidationError, match="There is no skill 'underwater welding'"):
        create_dispatch(title="Hull repair", asset_id=asset.id, required_skill="underwater welding")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Dispatch)) == 0


# --- Manual assignment, capacity --------------------------------------------------------------


def test_manual_assignment_to_a_technician_not_ranked_first_is_recorded_as_manual(app, actor):
    top = ms.technician("Top", skills={"diesel": 5})
    pick = ms.technician("Pick", at=ms.km_east(40), skills={"diesel": 1})
    dispatch = ms.dispatch()
    ranking = matching.rank(dispatch)
    assert ranking.outcome.ranked[0].technician_id == top.id
    pick_score = next(c.score for c in ranking.outcome.ranked if c.technician_id == pick.id)

    metric = matching.assign_to(dispatch, pick.id, reason="Knows the customer")

    dispatch = fresh(dispatch)
    assert (dispatch.status, dispatch.assigned_user_id) == ("Assigned", pick.id)
    [stored] = metrics_of(dispatch)
    assert stored.id == metric.id
    assert (stored.mode, stored.technician_id, stored.fallback_used) == ("manual", pick.id, False)
    # The score is recomputed at assignment time; the SLA and shift terms move with the clock, so
    # allow for the few milliseconds between the two rankings.
    assert stored.score == pytest.approx(pick_score, abs=1e-3)
    assert stored.fallback_technicians[0]["technician_id"] == top.id
    assert history_of(dispatch)[-1] == ("Created", "Assigned", "Knows the customer")


def test_manual_assignment_outside_the_rules_is_an_override_with_a_reason_and_noted(app, actor):
    ms.technician("On shift")
    night = ms.technician("Night shift", shift_days=ms.off_shift_days())
    dispatch = ms.dispatch()
    matching.assign_to(dispatch, night.id, reason="Lives next to the depot")
    [metric] = metrics_of(fresh(dispatch))
    assert metric.mode == "override"
    assert metric.note.startswith("override: off shift; score ")
    assert metric.note.endswith("; assigned outside the matching rules: off shift")


def test_automatic_assignment_never_takes_a_technician_past_capacity(app, actor):
    full = ms.technician("Full", max_concurrent=1)
    dispatch_service.assign(ms.dispatch(), full)
    second = ms.dispatch()
    with pytest.raises(CapacityExceeded, match=r"Full is at capacity \(1/1 active dispatches\)"):
        matching.assign_to(second, full.id, mode="fallback")
    with pytest.raises(CapacityExceeded, match=r"Full is at capacity \(1/1 active dispatches\)"):
        dispatch_service.assign(second, full)
    second = fresh(second)
    assert second.status == "Created" and metrics_of(second) == []
    assert ms.profile_of(full).active_dispatch_count == 1


def test_reassigning_releases_the_previous_technicians_capacity(app, actor):
    first = ms.technician("First")
    second = ms.technician("Second")
    dispatch = ms.dispatch()
    matching.assign_to(dispatch, first.id)
    assert ms.profile_of(first).active_dispatch_count == 1

    matching.assign_to(dispatch, second.id, reason="Swap")

    assert ms.profile_of(first).active_dispatch_count == 0 == ms.open_dispatch_count(first)
    assert ms.profile_of(second).active_dispatch_count == 1 == ms.open_dispatch_count(second)
    assert [m.technician_id for m in metrics_of(dispatch)] == [first.id, second.id]
    assert history_of(fresh(dispatch))[-1] == ("Assigned", "Assigned", "Swap")


@pytest.mark.parametrize("path", [["Cancelled"], ["En Route", "Cancelled"], ["In Progress", "Cancelled"],
                                  ["In Progress", "Completed"], ["Created"]])
def test_ending_or_unassigning_a_dispatch_releases_capacity(app, actor, path):
    technician = ms.technician(max_concurrent=1)
    dispatch = ms.dispatch()
    matching.assign_to(dispatch, technician.id)
    assert ms.profile_of(technician).active_dispatch_count == 1
    for status in path:
        dispatch_service.change_status(dispatch, status, "Not needed" if status == "Cancelled" else None)
    assert ms.profile_of(technician).active_dispatch_count == 0 == ms.open_dispatch_count(technician)
    matching.assign_to(ms.dispatch(), technician.id)  # the slot is free again


def test_completion_updates_completed_on_time_and_first_time_fix_counters(app, actor):
    steady = ms.technician("Steady")
    other = ms.technician("Other")

    on_time = ms.dispatch()
    matching.assign_to(on_time, steady.id)
    complete(on_time)

    reassigned = ms.dispatch()  # fixed, but not by the first technician sent
    matching.assign_to(reassigned, other.id)
    matching.assign_to(reassigned, steady.id)
    complete(reassigned)

    late = ms.dispatch()
    matching.assign_to(late, steady.id)
    db.session.execute(update(Dispatch).where(Dispatch.id == late.id).values(sla_due_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    complete(late)

    profile = ms.profile_of(steady)
    assert (profile.completed_count, profile.on_time_count, profile.first_time_fix_count) == (3, 2, 2)
    assert profile.active_dispatch_count == 0
    other_profile = ms.profile_of(other)
    assert (other_profile.completed_count, other_profile.active_dispatch_count) == (0, 0)


# --- Fallback routing -------------------------------------------------------------------------


def test_decline_goes_to_the_first_recorded_fallback(app, actor):
    chosen = ms.technician("Chosen", at=ms.km_east(1), skills={"diesel": 5})
    runner_up = ms.technician("Runner Up", at=ms.km_east(5), skills={"diesel": 4})
    third = ms.technician("Third", at=ms.km_east(30), skills={"diesel": 2})
    dispatch = ms.dispatch()
    first = matching.auto_assign(dispatch)
    assert [f["technician_id"] for f in first.fallback_technicians] == [runner_up.id, third.id]

    # Since then, Third moved next door and Runner Up far away: a fresh ranking would now
    # prefer Third, but the recorded fallback order decides.
    for technician, place in ((third, ms.LEEDS), (runner_up, ms.km_east(90))):
        db.session.execute(update(TechnicianProfile).where(TechnicianProfile.user_id == technician.id)
                           .values(home_latitude=place[0], home_longitude=place[1]))
    db.session.commit()
    assert matching.rank(dispatch, exclude={chosen.id}).outcome.ranked[0].technician_id == third.id

    metric = matching.decline(dispatch, chosen, "sick")

    dispatch = fresh(dispatch)
    assert (dispatch.status, dispatch.assigned_user_id) == ("Assigned", runner_up.id)
    assert (metric.mode, metric.fallback_used, metric.technician_id) == ("fallback", True, runner_up.id)
    assert metric.note == "declined by Chosen (sick); recorded fallback #1"
    assert chosen.id not in [f["technician_id"] for f in metric.fallback_technicians]
    assert history_of(dispatch)[-1] == ("Assigned", "Assigned", "Fallback routing: declined by Chosen (sick)")
    assert ms.profile_of(chosen).active_dispatch_count == 0
    assert ms.profile_of(runner_up).active_dispatch_count == 1


def test_decline_skips_a_recorded_fallback_who_can_no_longer_take_it(app, actor):
    chosen = ms.technician("Chosen", at=ms.km_east(1), skills={"diesel": 5})
    runner_up = ms.technician("Runner Up", at=ms.km_east(5), skills={"diesel": 4})
    third = ms.technician("Third", at=ms.km_east(30), skills={"diesel": 2})
    dispatch = ms.dispatch()
    matching.auto_assign(dispatch)
    db.session.execute(update(TechnicianProfile).where(TechnicianProfile.user_id == runner_up.id)
                       .values(availability=Availability.UNAVAILABLE.value))
    db.session.commit()

    metric = matching.decline(dispatch, chosen)

    assert fresh(dispatch).assigned_user_id == third.id
    assert metric.note == "declined by Chosen; recorded fallback #1"


def test_only_the_assigned_technician_can_decline_and_only_before_starting(app, actor):
    chosen = ms.technician("Chosen", skills={"diesel": 5})
    bystander = ms.technician("Bystander", skills={"diesel": 1})
    dispatch = ms.dispatch()
    matching.auto_assign(dispatch)
    with pytest.raises(ValidationError, match="Bystander can only decline a dispatch assigned to them"):
        matching.decline(dispatch, bystander)
    dispatch_service.change_status(dispatch, "En Route")
    with pytest.raises(ValidationError, match="Chosen can only decline a dispatch assigned to them and not yet start"):
        matching.decline(dispatch, chosen)
    assert fresh(dispatch).assigned_user_id == chosen.id


def test_when_no_fallback_can_take_it_the_dispatch_goes_back_to_created_with_the_reason(app, actor):
    lonely = ms.technician("Lonely")
    ms.technician("Asleep", shift_days=ms.off_shift_days())
    dispatch = ms.dispatch()
    matching.auto_assign(dispatch)

    assert matching.decline(dispatch, lonely, "vehicle broke down") is None

    dispatch = fresh(dispatch)
    assert (dispatch.status, dispatch.assigned_user_id) == ("Created", None)
    assert history_of(dispatch)[-1] == (
        "Assigned", "Created", "declined by Lonely (vehicle broke down); no fallback technician could take it")
    assert events_of(dispatch, "dispatch.not_assigned") == [
        f"Fallback routing found nobody for {dispatch.dispatch_number}: 1 off shift."]
    assert ms.profile_of(lonely).active_dispatch_count == 0


def test_mark_unavailable_reroutes_assigned_dispatches_in_fallback_order(app, actor):
    leaving = ms.technician("Leaving", at=ms.km_east(1), skills={"diesel": 5})
    near = ms.technician("Near", at=ms.km_east(3), skills={"diesel": 4}, max_concurrent=1)
    far = ms.technician("Far", at=ms.km_east(25), skills={"diesel": 4})
    first, second, travelling = ms.dispatch(), ms.dispatch(), ms.dispatch()
    for dispatch in (first, second, travelling):
        matching.assign_to(dispatch, leaving.id)
    dispatch_service.change_status(travelling, "En Route")
    assert [f["technician_id"] for f in metrics_of(first)[0].fallback_technicians][:2] == [near.id, far.id]

    affected = matching.mark_unavailable(leaving, "Family emergency", until=utcnow() + timedelta(days=2))

    assert [d.id for d in affected] == [first.id, second.id, travelling.id]
    # In order: the first goes to its first fallback; Near is then full, so the second goes on.
    assert fresh(first).assigned_user_id == near.id
    assert fresh(second).assigned_user_id == far.id
    for dispatch in (first, second):
        metric = metrics_of(dispatch)[-1]
        assert (metric.mode, metric.fallback_used) == ("fallback", True)
        assert metric.note.startswith("Leaving unavailable: Family emergency; recorded fallback #")
    # Already travelling: a manager decides.
    assert (fresh(travelling).status, fresh(travelling).assigned_user_id) == ("En Route", leaving.id)
    profile = ms.profile_of(leaving)
    assert (profile.availability, profile.unavailable_reason) == ("Unavailable", "Family emergency")
    assert profile.active_dispatch_count == 1 == ms.open_dispatch_count(leaving)
    assert leaving.id not in [c.technician_id for c in matching.rank(ms.dispatch()).outcome.ranked]

    matching.mark_available(leaving)
    assert ms.profile_of(leaving).availability == "Available"


def test_mark_unavailable_needs_a_reason_and_a_future_until(app, actor):
    technician = ms.technician()
    with pytest.raises(ValidationError, match="Say why"):
        matching.mark_unavailable(technician, "  ")
    with pytest.raises(ValidationError, match="must be in the future"):
        matching.mark_unavailable(technician, "holiday", until=utcnow() - timedelta(hours=1))
    assert ms.profile_of(technician).availability == "Available"


# --- flask dispatch … -------------------------------------------------------------------------


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


REPORT = re.compile(
    r"Considered (?P<considered>\d+): assigned (?P<assigned>\d+), left Created (?P<left>\d+), "
    r"conflicts (?P<conflicts>\d+); method (?P<method>[\w-]+), cost (?P<cost>[\d.]+) "
    r"\(greedy (?P<greedy>[\d.]+)\), \d+ ms\."
)


def test_flask_dispatch_assign_pending_assigns_a_batch_within_capacities(app, actor, runner):
    technicians = [ms.technician(f"Cap {i}", at=ms.km_east(3 * i), max_concurrent=1 + i % 2) for i in range(4)]
    capacity = sum(1 + i % 2 for i in range(4))  # 6
    pending = [ms.dispatch(priority=p) for p in itertools.islice(itertools.cycle(["Normal", "High", "Low"]), 9)]
    ms.technician("Away", availability=Availability.UNAVAILABLE.value)

    result = runner.invoke(args=["dispatch", "assign-pending"])

    assert result.exit_code == 0, result.output
    report = REPORT.fullmatch(result.output.strip())
    assert report, result.output
    assert (int(report["considered"]), int(report["assigned"]), int(report["left"]), int(report["conflicts"])) == (
        9, capacity, 9 - capacity, 0)
    assert float(report["cost"]) <= float(report["greedy"]) + 1e-3
    db.session.expire_all()
    for technician in technicians:
        profile = ms.profile_of(technician)
        assert profile.active_dispatch_count == ms.open_dispatch_count(technician) == profile.max_concurrent_dispatches
    statuses = [fresh(d).status for d in pending]
    assert statuses.count("Assigned") == capacity and statuses.count("Created") == 9 - capacity
    batch_metrics = db.session.scalars(select(DispatchMetric.mode)).all()
    assert batch_metrics == ["batch"] * capacity
    left = [d for d in pending if fresh(d).status == "Created"]
    assert all(events_of(d, "dispatch.not_assigned") for d in left)


def test_flask_dispatch_assign_pending_beats_greedy_when_greedy_is_wrong(app, actor, runner):
    """Greedy gives the urgent job to the all-rounder and leaves the specialist job to a novice."""
    allrounder = ms.technician("All Rounder", skills={"diesel": 5, "hydraulics": 5}, max_concurrent=1)
    mechanic = ms.technician("Mechanic", skills={"diesel": 4}, max_concurrent=1)
    urgent = ms.dispatch(priority="Critical", skill_name="diesel")
    special = ms.dispatch(priority="Low", skill_name="hydraulics")

    scores = {}
    for dispatch in (urgent, special):
        ranking = matching.rank(dispatch)
        scores[dispatch.id] = {c.technician_id: c.score for c in ranking.outcome.ranked}
    greedy_cost = (1 - scores[urgent.id][allrounder.id]) + (1 - scores[special.id][mechanic.id])
    best_cost = (1 - scores[urgent.id][mechanic.id]) + (1 - scores[special.id][allrounder.id])
    assert best_cost < greedy_cost - 0.05  # the scenario really punishes greedy

    result = runner.invoke(args=["dispatch", "assign-pending"])

    report = REPORT.fullmatch(result.output.strip())
    assert report, result.output
    assert fresh(urgent).assigned_user_id == mechanic.id
    assert fresh(special).assigned_user_id == allrounder.id
    assert float(report["cost"]) == pytest.approx(best_cost, abs=2e-3)
    assert float(report["greedy"]) == pytest.approx(greedy_cost, abs=2e-3)


def test_flask_dispatch_assign_pending_with_nothing_waiting(app, actor, runner):
    result = runner.invoke(args=["dispatch", "assign-pending"])
    assert result.exit_code == 0
    assert result.output.startswith("Considered 0: assigned 0, left Created 0, conflicts 0; method none")


def test_flask_dispatch_create_creates_a_dispatch_for_an_asset_tag(app, actor, runner):
    from tests.factories import AssetFactory, configured_truck_type

    AssetFactory(asset_tag="TRK-0042", asset_type=configured_truck_type())
    ms.skill("diesel")
    tech = ms.technician("Dana Diesel")
    due = (utcnow() + timedelta(days=30)).replace(hour=14, minute=0, second=0, microsecond=0)

    result = runner.invoke(args=["dispatch", "create", "--asset", "TRK-0042", "--title", "Replace injector",
                                 "--priority", "High", "--skill", "diesel", "--hours", "3",
                                 "--due", due.strftime("%Y-%m-%dT%H:%M")])
    assert result.exit_code == 0, result.output
    dispatch = db.session.scalar(select(Dispatch))
    assert result.output == (f"Created {dispatch.dispatch_number} (Created); "
                             "checklists: Truck dispatch checklist.\n")
    assert (dispatch.title, dispatch.priority, dispatch.required_skill, dispatch.estimated_duration_hours) == (
        "Replace injector", "High", "diesel", 3.0)
    assert dispatch.due_date == due

    assigned = runner.invoke(args=["dispatch", "create", "--asset", "TRK-0042", "--title", "Second",
                                   "--auto-assign"])
    assert assigned.exit_code == 0, assigned.output
    assert assigned.output.endswith(f"Assigned to {tech.name}.\n")


def test_flask_dispatch_create_refuses_an_unknown_asset_tag(app, actor, runner):
    result = runner.invoke(args=["dispatch", "create", "--asset", "NOPE-1", "--title", "Anything"])
    assert result.exit_code == 1
    assert "There is no asset tagged 'NOPE-1'" in result.output
    assert db.session.scalar(select(func.count()).select_from(Dispatch)) == 0


def test_flask_dispatch_create_refuses_bad_input_clearly(app, actor, runner):
    ms.asset(tag="VAN-1")
    unknown_skill = runner.invoke(args=["dispatch", "create", "--asset", "VAN-1", "--title", "x", "--skill", "magic"])
    assert unknown_skill.exit_code == 1 and "There is no skill 'magic'" in unknown_skill.output
    bad_due = runner.invoke(args=["dispatch", "create", "--asset", "VAN-1", "--title", "x", "--due", "soon"])
    assert bad_due.exit_code == 2 and "'soon' is not a date and time" in bad_due.output
    assert db.session.scalar(select(func.count()).select_from(Dispatch)) == 0


def test_flask_dispatch_rank_prints_the_ranking_and_the_exclusions(app, actor, runner):
    best = ms.technician("Best Match", skills={"diesel": 5})
    ms.technician("Second Best", at=ms.km_east(20), skills={"diesel": 2})
    ms.technician("Away Today", availability=Availability.UNAVAILABLE.value)
    dispatch = ms.dispatch()
    ranking = matching.rank(dispatch)

    result = runner.invoke(args=["dispatch", "rank", dispatch.dispatch_number])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{dispatch.dispatch_number}: matcher weighted"
    assert re.fullmatch(r"  1\. Best Match +\d\.\d{3}", lines[1])
    assert re.fullmatch(r"  2\. Second Best +\d\.\d{3}", lines[2])
    assert lines[1].endswith(f"{ranking.outcome.ranked[0].score:.3f}")
    assert lines[3] == "Excluded: 1 unavailable"
    assert best.name in lines[1]


def test_flask_dispatch_rank_refuses_an_unknown_number(app, actor, runner):
    result = runner.invoke(args=["dispatch", "rank", "D-1999-000001"])
    assert result.exit_code == 1
    assert "There is no dispatch D-1999-000001." in result.output


def test_a_manager_assignment_is_attributed_to_them(app, actor):
    manager = ManagerFactory()
    technician = ms.technician()
    dispatch = ms.dispatch()
    with acting_as(manager):
        matching.assign_to(dispatch, technician.id)
    [metric] = metrics_of(fresh(dispatch))
    assert metric.created_by_id == manager.id
    row = db.session.scalar(select(DispatchStatusHistory).where(DispatchStatusHistory.dispatch_id == dispatch.id,
                                                                DispatchStatusHistory.status_to == "Assigned"))
    assert row.changed_by_id == manager.id


def test_assign_pending_gives_scarce_capacity_to_the_most_urgent_dispatch(app, actor, runner):
    """One free slot: the Critical job gets it even though the Low job would be a cheaper match."""
    ms.skill("hydraulics")
    only = ms.technician("Only One", skills={"diesel": 5}, max_concurrent=1)
    low = ms.dispatch(priority="Low", skill_name="diesel")
    critical = ms.dispatch(priority="Critical", skill_name="hydraulics")
    costs = {d.id: 1 - {c.technician_id: c.score for c in matching.rank(d).outcome.ranked}[only.id]
             for d in (low, critical)}
    assert costs[low.id] < costs[critical.id]  # by cost alone the Low job would win

    result = runner.invoke(args=["dispatch", "assign-pending"])

    assert result.exit_code == 0, result.output
    assert fresh(critical).assigned_user_id == only.id
    assert fresh(low).status == "Created"
