"""The candidate pool's kept part (``app.services.candidate_pool``): what each process keeps in
memory, the version that tells it a change was made anywhere, and what is read every time.

"Another process" is a second application on the same database with its own session and
its own kept pool, as two web workers or the web server and the scheduler are.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select, update
from sqlalchemy import inspect as sa_inspect

from app.extensions import db
from app.models import PoolVersion, TechnicianProfile, User
from app.services import candidate_pool, matching
from app.services import technicians as technician_service
from app.services.actors import acting_as, system_user
from tests import matching_support as ms


@contextmanager
def statements():
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def other(make_app):
    """A second process: run ``work`` in its own app and session, as the system user."""
    second = make_app(MOTORPOOL_NOTIFIERS="")

    def run(work):
        with second.app_context():
            try:
                with acting_as(system_user()):
                    return work()
            finally:
                db.session.remove()

    run.app = second
    return run


def _best(dispatch_id: int) -> int:
    dispatch = db.session.get(matching.Dispatch, dispatch_id)
    return matching.rank(dispatch).outcome.ranked[0].technician_id


def test_a_skill_changed_in_one_process_is_seen_by_the_next_ranking_in_another(app, system_actor, other):
    near = ms.technician("Near", at=ms.km_east(1), skills={"welding": 3})
    far = ms.technician("Far", at=ms.km_east(20), skills={"diesel": 5})
    dispatch = ms.dispatch(skill_name="diesel")
    # Only Far holds the skill. This process now keeps the pool.
    assert _best(dispatch.id) == far.id
    before = candidate_pool.current_version()

    def teach_near():
        technician_service.set_skill(db.session.get(User, near.id), "diesel", 5)

    other(teach_near)
    db.session.rollback()  # end this session's read transaction, as the next request would
    assert candidate_pool.current_version() > before
    assert _best(dispatch.id) == near.id  # as skilled now, and nearer


def test_a_home_base_changed_by_plain_orm_in_another_process_is_seen(app, system_actor, other):
    first = ms.technician("First", at=ms.km_east(1))
    second = ms.technician("Second", at=ms.km_east(10))
    dispatch = ms.dispatch()
    assert _best(dispatch.id) == first.id

    def move_second_next_door():
        profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == second.id))
        profile.home_latitude, profile.home_longitude = ms.LEEDS
        first_profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == first.id))
        first_profile.home_latitude, first_profile.home_longitude = ms.km_east(50)
        db.session.commit()

    other(move_second_next_door)
    db.session.rollback()
    assert _best(dispatch.id) == second.id


def test_an_orm_bulk_update_and_a_removed_skill_move_the_version(app, system_actor):
    tech = ms.technician("Bulk", skills={"diesel": 3, "welding": 2})
    version = candidate_pool.current_version()
    db.session.execute(update(TechnicianProfile).where(TechnicianProfile.user_id == tech.id).values(hourly_rate=55.0))
    db.session.commit()
    assert candidate_pool.current_version() == version + 1
    assert matching.load_pool().pool.hourly_rate.tolist() == [55.0]

    profile = ms.profile_of(tech)
    profile.skills.remove(next(s for s in profile.skills if s.skill.name == "welding"))  # deleted as an orphan
    db.session.commit()
    assert candidate_pool.current_version() == version + 2
    pool = matching.load_pool().pool
    assert pool.skill_levels[0, pool.skill_index("welding")] == 0


def test_assignments_and_sign_ins_leave_the_kept_pool_alone(app, system_actor):
    """Capacity in use and last sign-in change all the time: they must not empty the cache."""
    tech = ms.technician("Busy", max_concurrent=3)
    matching.load_pool()
    version = candidate_pool.current_version()
    dispatch = ms.dispatch()
    metric = matching.auto_assign(dispatch)
    assert metric is not None and metric.technician_id == tech.id
    db.session.get(User, tech.id).last_login_at = ms.utcnow()
    db.session.commit()
    assert candidate_pool.current_version() == version
    # ...and what they change is still read fresh on every load.
    assert matching.load_pool().pool.active_count.tolist() == [1]


def test_availability_is_kept_and_a_change_to_it_is_seen_at_once(app, system_actor):
    """Availability changes seldom, so it is kept: marking someone unavailable moves the version."""
    tech = ms.technician("Away", max_concurrent=3)
    matching.auto_assign(ms.dispatch())
    assert matching.load_pool().pool.available.tolist() == [True]
    version = candidate_pool.current_version()
    matching.mark_unavailable(db.session.get(User, tech.id), "dentist")
    db.session.commit()
    assert candidate_pool.current_version() > version
    loaded = matching.load_pool()
    assert loaded.pool.available.tolist() == [False]
    assert loaded.pool.active_count.tolist() == [0]  # rerouted away when marked unavailable


def test_a_warm_load_checks_the_version_and_skips_the_kept_tables(app, system_actor):
    ms.technician("Warm", skills={"diesel": 3})
    matching.load_pool()
    with statements() as seen:
        matching.load_pool()
    assert len(seen) == 6
    assert any("pool_version" in s for s in seen)
    assert not any("technician_skills" in s or "FROM skills" in s for s in seen)
    assert not any("JOIN users" in s for s in seen)

    ms.technician("Cold", skills={"diesel": 3})  # a new technician moves the version
    with statements() as seen:
        loaded = matching.load_pool()
    assert len(seen) == 9
    assert len(loaded.pool) == 2


def test_kept_arrays_cannot_be_written_by_a_ranking(app, system_actor):
    ms.technician("Frozen")
    pool = matching.load_pool().pool
    with pytest.raises(ValueError, match="read-only"):
        pool.hourly_rate[0] = 1.0


def test_a_missing_version_row_is_never_trusted(app, system_actor):
    """Without the row (emptied by hand) the kept part is read every time, and a bump recreates it."""
    ms.technician("Rowless")
    db.session.execute(PoolVersion.__table__.delete())
    db.session.commit()
    matching.load_pool()
    with statements() as seen:
        matching.load_pool()
    assert len(seen) == 9
    candidate_pool.bump_version(db.session)
    db.session.commit()
    assert candidate_pool.current_version() == 1


def test_pending_skill_demand_is_counted_from_its_index(app, system_actor):
    """The waiting work's skill demand, read on every ranking, needs no row of the table.

    SQLite answers it from ``ix_dispatches_status_required_skill`` alone, in the index's order;
    without the index it read every waiting dispatch through ``ix_dispatches_status``. PostgreSQL chooses by its
    statistics (an empty table is scanned), so there the index itself is what is checked.
    """
    ms.technician("Demand", skills={"welding": 3})
    captured: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "required_skill" in statement and "count(" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        matching.load_pool()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert len(captured) == 1
    indexes = {index["name"]: index["column_names"] for index in sa_inspect(db.engine).get_indexes("dispatches")}
    assert indexes["ix_dispatches_status_required_skill"] == ["status", "required_skill"]
    if db.engine.dialect.name == "sqlite":
        statement, parameters = captured[0]
        plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
        assert "COVERING INDEX ix_dispatches_status_required_skill" in plan, plan
        assert "TEMP B-TREE" not in plan, plan  # counted in the index's order, without sorting


# --- Every kind of change through its service is seen by the very next ranking -------------


def _remove_diesel(user_id: int) -> None:
    profile = ms.profile_of(user_id)
    held = next(s for s in profile.skills if s.skill.name == "diesel")
    technician_service.remove_skill(db.session.get(User, user_id), held.skill_id)


def _off_shift(user_id: int) -> None:
    technician_service.save_profile(db.session.get(User, user_id), shift_days=ms.off_shift_days())


def _unavailable(user_id: int) -> None:
    matching.mark_unavailable(db.session.get(User, user_id), "sick")


def _moved_far_away(user_id: int) -> None:
    latitude, longitude = ms.km_east(80)
    technician_service.save_profile(db.session.get(User, user_id), current_latitude=latitude,
                                    current_longitude=longitude)


def _device_far_away(user_id: int) -> None:
    user = db.session.get(User, user_id)
    latitude, longitude = ms.km_east(80)
    with acting_as(user):
        technician_service.report_position(user, latitude, longitude, 10.0, ms.utcnow())


def _deactivated(user_id: int) -> None:
    from app.services import users

    users.set_user_active(db.session.get(User, user_id), False)


#: A change that makes the nearer technician lose the next ranking to the farther one.
CHANGES = {
    "skill removed": _remove_diesel,
    "shift": _off_shift,
    "availability": _unavailable,
    "profile position": _moved_far_away,
    "device position": _device_far_away,
    "user deactivated": _deactivated,
}


@pytest.mark.parametrize("where", ["this process", "another process"])
@pytest.mark.parametrize("change", CHANGES)
def test_a_change_through_its_service_is_seen_by_the_very_next_ranking(app, system_actor, other, change, where):
    near = ms.technician("Near", at=ms.km_east(1), skills={"diesel": 3})
    far = ms.technician("Far", at=ms.km_east(20), skills={"diesel": 3})
    dispatch = ms.dispatch(skill_name="diesel")
    assert _best(dispatch.id) == near.id  # this process keeps the pool now
    if where == "another process":
        other(lambda: _best(dispatch.id))  # the other process keeps its own pool too
        other(lambda: CHANGES[change](near.id))
        db.session.rollback()  # end this session's read transaction, as the next request would
    else:
        CHANGES[change](near.id)
    assert _best(dispatch.id) == far.id


@pytest.mark.parametrize("where", ["this process", "another process"])
def test_a_new_rate_is_in_the_very_next_ranking_and_its_cost(app, system_actor, other, where):
    """The rate does not rank (it is not a factor) but prices the assignment: it must be current."""
    tech = ms.technician("Priced", hourly_rate=40.0)
    dispatch = ms.dispatch()
    before = matching.rank(dispatch)
    assert before.loaded.pool.hourly_rate.tolist() == [40.0]

    def raise_rate():
        technician_service.save_profile(db.session.get(User, tech.id), hourly_rate=80.0)

    if where == "another process":
        other(raise_rate)
        db.session.rollback()
    else:
        raise_rate()
    after = matching.rank(dispatch)
    assert after.loaded.pool.hourly_rate.tolist() == [80.0]
    cost_before = matching.metric_for(before, tech.id, mode="auto").operational_cost
    cost_after = matching.metric_for(after, tech.id, mode="auto").operational_cost
    assert cost_after > cost_before


def test_an_unavailability_that_runs_out_needs_no_write_to_end(app, system_actor):
    """The kept part holds when the unavailability ends; each ranking compares it with its time."""
    tech = ms.technician("Back soon")
    until = ms.utcnow() + timedelta(hours=1)
    matching.mark_unavailable(db.session.get(User, tech.id), "dentist", until)
    assert matching.load_pool().pool.available.tolist() == [False]
    version = candidate_pool.current_version()
    assert matching.load_pool(now=until - timedelta(seconds=1)).pool.available.tolist() == [False]
    assert matching.load_pool(now=until).pool.available.tolist() == [True]
    assert candidate_pool.current_version() == version


def test_a_ranking_issues_the_same_statements_for_3_or_30_technicians(app, system_actor):
    """One ranking with the kept part current: a constant number of statements, whatever the pool's size."""
    counts = {}
    for size in (3, 30):
        for i in range(size - (3 if counts else 0)):
            ms.technician(f"Crew {size}-{i}", at=ms.km_east(1 + i % 9), skills={"diesel": 1 + i % 5})
        dispatch = ms.dispatch(skill_name="diesel")
        matching.rank(dispatch)  # the new technicians moved the version: read the kept part again
        db.session.rollback()
        with statements() as seen:
            ranking = matching.rank(dispatch)
        assert len(ranking.loaded.pool) == size
        counts[size] = seen
    assert len(counts[3]) == len(counts[30])
    # The pool's six (version, counters, urgent work, recent work, demand, device positions),
    # and the dispatch with its location, read again after the rollback.
    assert len(counts[30]) == 8
    assert sum("pool_version" in statement for statement in counts[30]) == 1


def test_exclusion_reasons_are_written_only_when_read(app, system_actor):
    """An automatic assignment never reads them; a listing writes them all, ``get`` only one."""
    from app.matching import Exclusions, explain_exclusions

    ms.technician("Free")
    busy = ms.technician("Full", max_concurrent=1)
    away = ms.technician("Off", shift_days=ms.off_shift_days())
    dispatch_service_assign(ms.dispatch(), busy)
    ranking = matching.rank(ms.dispatch())
    excluded = ranking.outcome.excluded
    assert isinstance(excluded, Exclusions)
    assert excluded._all is None  # not written by ranking
    assert excluded.get(busy.id) == "at capacity (1/1)"
    assert excluded._all is None  # one technician's reason, written alone
    assert dict(excluded) == {busy.id: "at capacity (1/1)", away.id: "off shift"}
    pool = ranking.loaded.pool
    reasons = explain_exclusions(pool, ranking.request, ranking.scores.eligible)
    assert dict(excluded) == {int(pool.technician_ids[i]): r for i, r in enumerate(reasons) if r}
    assert ranking.excluded_summary() == "1 at capacity, 1 off shift"
    assert excluded.get(ranking.outcome.ranked[0].technician_id) is None


def dispatch_service_assign(dispatch, technician) -> None:
    from app.services import dispatches

    dispatches.assign(dispatch, technician)


# --- Capacity and completion counters: kept, and brought up to date at the next ranking ------


def _fresh_dispatch(dispatch_id: int) -> matching.Dispatch:
    return db.session.get(matching.Dispatch, dispatch_id)


def _assign(dispatch_id: int, user_id: int) -> None:
    from app.services import dispatches as dispatch_service

    dispatch_service.assign(_fresh_dispatch(dispatch_id), db.session.get(User, user_id))


def _finish(dispatch_id: int, status: str) -> None:
    from app.services import dispatches as dispatch_service

    dispatch = _fresh_dispatch(dispatch_id)
    if status == "Completed":
        dispatch_service.change_status(dispatch, "In Progress")
    dispatch_service.change_status(dispatch, status, "Not needed" if status == "Cancelled" else None)


def _counters_in_db() -> dict[int, tuple[int, int, int, int]]:
    db.session.expire_all()
    return {profile.user_id: (profile.active_dispatch_count, profile.completed_count, profile.on_time_count,
                              profile.first_time_fix_count)
            for profile in db.session.scalars(select(TechnicianProfile))}


def _counters_ranked(dispatch_id: int) -> tuple[int, dict[int, tuple[int, int, int, int]]]:
    ranking = matching.rank(_fresh_dispatch(dispatch_id))
    pool = ranking.loaded.pool
    ranked = {int(tid): (int(a), int(c), int(o), int(f)) for tid, a, c, o, f in zip(
        pool.technician_ids, pool.active_count, pool.completed_count, pool.on_time_count,
        pool.first_time_fix_count, strict=True)}
    return ranking.outcome.ranked[0].technician_id, ranked


@pytest.mark.parametrize("where", ["this process", "another process"])
@pytest.mark.parametrize("ending", ["Completed", "Cancelled", "reassigned"])
def test_capacity_and_completions_are_counted_by_the_very_next_ranking(app, system_actor, other, where, ending):
    near = ms.technician("Near", at=ms.km_east(1), max_concurrent=1)
    far = ms.technician("Far", at=ms.km_east(20), max_concurrent=1)
    held = ms.dispatch()
    waiting = ms.dispatch()
    # Both processes keep their counters from here on.
    assert _counters_ranked(waiting.id)[0] == near.id
    other(lambda: _counters_ranked(waiting.id))

    def step(work):
        if where == "another process":
            other(work)
            db.session.rollback()  # end this session's read transaction, as the next request would
        else:
            work()

    step(lambda: _assign(held.id, near.id))
    best, ranked = _counters_ranked(waiting.id)
    assert ranked == _counters_in_db() and ranked[near.id][0] == 1
    assert best == far.id  # Near is at capacity now

    if ending == "reassigned":
        step(lambda: _assign(held.id, far.id))
    else:
        step(lambda: _finish(held.id, ending))
    best, ranked = _counters_ranked(waiting.id)
    assert ranked == _counters_in_db()
    assert best == near.id  # free again
    assert ranked[near.id] == ((0, 1, 1, 1) if ending == "Completed" else (0, 0, 0, 0))
    assert ranked[far.id][0] == (1 if ending == "reassigned" else 0)


def test_a_warm_ranking_reads_only_the_changed_profiles_through_their_index(app, system_actor):
    for i in range(6):
        ms.technician(f"Crew {i}", at=ms.km_east(1 + i))
    dispatch = ms.dispatch()
    matching.rank(dispatch)
    db.session.rollback()
    captured: list = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        if "active_dispatch_count" in statement and "technician_profiles" in statement:
            captured.append((statement, parameters, cursor))

    event.listen(db.engine, "after_cursor_execute", keep)
    try:
        matching.load_pool()
    finally:
        event.remove(db.engine, "after_cursor_execute", keep)
    assert len(captured) == 1
    statement, parameters, _cursor = captured[0]
    assert "updated_at >=" in statement
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
        assert "ix_technician_profiles_updated_at" in plan, plan


def test_kept_counters_cannot_be_written_by_a_ranking(app, system_actor):
    ms.technician("Solo")
    pool = matching.load_pool().pool
    with pytest.raises(ValueError):
        pool.active_count[0] = 5
