"""Concurrent assignment from several worker *processes*, on SQLite and PostgreSQL.

Each worker is a process started with the ``spawn`` method: it builds its own application
with ``create_app(base_config(url))`` on the shared test database and never touches the
test's own app context. A barrier releases them together so that their work overlaps.

(a) Several workers assign the same dispatch to different technicians at once: exactly
    one wins, the others get ``ConcurrentUpdate`` (or a refusal), and the database shows
    one assignment and one "Assigned" history row.
(b) Workers run ``matching.assign_pending`` and ``matching.auto_assign`` over the same
    waiting dispatches, with technicians of small capacity: no dispatch is assigned twice
    and no technician holds more open dispatches than ``max_concurrent_dispatches`` (the
    stored counter and a COUNT over open dispatches agree).
"""

from __future__ import annotations

import multiprocessing
import random
import traceback
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Dispatch, DispatchMetric, DispatchStatusHistory, TechnicianProfile
from tests import matching_support as ms
from tests.conftest import base_config

WORKER_TIMEOUT_S = 90  # generous ceiling; the tests take a few seconds
START_TIMEOUT_S = 60


# --- Worker side (runs in the spawned processes) ---------------------------------------------


def _worker_app(url: str):
    from app import create_app

    # No notification channels: the workers only assign.
    return create_app({**base_config(url), "MOTORPOOL_NOTIFIERS": ""})


def _run_worker(url: str, barrier, results, name: str, work) -> None:
    """Build an app, get ready, wait for everyone, do ``work()``, report ``(name, outcome)``."""
    outcome: object
    app = None
    try:
        app = _worker_app(url)
        with app.app_context():
            from app.services.actors import acting_as, system_user

            user = system_user()
            db.session.commit()
            with acting_as(user):
                ready = work(prepare=True)
                barrier.wait(timeout=START_TIMEOUT_S)
                outcome = work(prepare=False, state=ready)
            db.session.remove()
    except BaseException:  # report anything, so the test fails with the worker's traceback
        outcome = {"error": traceback.format_exc()}
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
    results.put((name, outcome))


def assign_same_dispatch(url: str, dispatch_id: int, technician_id: int, barrier, results) -> None:
    from app.models import User
    from app.services import dispatches
    from app.services.errors import ConcurrentUpdate, DomainError

    def work(prepare: bool, state=None):
        if prepare:
            dispatch = db.session.get(Dispatch, dispatch_id)
            technician = db.session.get(User, technician_id)
            assert dispatch.status == "Created"
            return dispatch, technician
        dispatch, technician = state
        try:
            dispatches.assign(dispatch, technician, f"race by {technician.name}")
        except ConcurrentUpdate:
            return "conflict"
        except DomainError as refusal:
            return f"refused: {refusal.message}"
        return "assigned"

    _run_worker(url, barrier, results, f"technician {technician_id}", work)


def assign_many(url: str, name: str, mode: str, dispatch_ids: list[int], barrier, results) -> None:
    from app.services import matching
    from app.services.errors import ConcurrentUpdate

    def work(prepare: bool, state=None):
        if prepare:
            matching.load_pool()  # warm up imports and the connection before the start
            db.session.rollback()
            return None
        counts: Counter = Counter()
        if mode == "batch":
            for _ in range(2):
                report = matching.assign_pending(limit=len(dispatch_ids))
                counts["assigned"] += report.assigned
                counts["conflicts"] += report.conflicts
            return dict(counts)
        for dispatch_id in dispatch_ids:
            db.session.rollback()
            dispatch = db.session.get(Dispatch, dispatch_id)
            if dispatch.status != "Created":
                counts["already taken"] += 1
                continue
            try:
                metric = matching.auto_assign(dispatch)
            except ConcurrentUpdate:
                counts["conflicts"] += 1
                continue
            counts["assigned" if metric is not None else "not assigned"] += 1
        return dict(counts)

    _run_worker(url, barrier, results, name, work)


# --- Test side ---------------------------------------------------------------------------------


def run_workers(target, argument_lists: list[tuple]) -> dict[str, object]:
    """Start one spawned process per argument tuple, released together; their outcomes by name."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(argument_lists))
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(*arguments, barrier, results), daemon=True)
        for arguments in argument_lists
    ]
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
    assert [process.exitcode for process in processes] == [0] * len(processes)
    errors = {name: outcome["error"] for name, outcome in outcomes.items()
              if isinstance(outcome, dict) and "error" in outcome}
    assert not errors, "\n".join(f"--- {name}\n{text}" for name, text in errors.items())
    return outcomes


def open_counts() -> dict[int, int]:
    return dict(db.session.execute(
        select(Dispatch.assigned_user_id, func.count())
        .where(Dispatch.status.in_(("Assigned", "En Route", "In Progress")), Dispatch.assigned_user_id.is_not(None))
        .group_by(Dispatch.assigned_user_id)
    ).all())


def assignments_per_dispatch() -> Counter:
    return Counter(db.session.scalars(
        select(DispatchStatusHistory.dispatch_id).where(DispatchStatusHistory.status_to == "Assigned")
    ))


def history_rows(dispatch_id: int) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(
        select(DispatchStatusHistory.dispatch_id, DispatchStatusHistory.status_from, DispatchStatusHistory.status_to,
               DispatchStatusHistory.change_reason, DispatchStatusHistory.changed_date)
        .where(DispatchStatusHistory.dispatch_id == dispatch_id).order_by(DispatchStatusHistory.id)
    )]


@pytest.fixture
def app(make_app):
    """The test's own app (no notification channels: assignments only)."""
    app = make_app(MOTORPOOL_NOTIFIERS="")
    with app.app_context():
        yield app
        db.session.rollback()


@pytest.fixture
def shared(app, system_actor, database_url):
    """The test's data is committed and its session closed before the workers start."""
    yield database_url


def _hand_over() -> None:
    db.session.commit()
    db.session.close()  # no connection (or SQLite read snapshot) held while workers write


def test_same_dispatch_assigned_by_several_workers_at_once_exactly_one_wins(shared):
    technicians = [ms.technician(f"Racer {i}") for i in range(4)]
    dispatch = ms.dispatch()
    dispatch_id, ids = dispatch.id, [t.id for t in technicians]
    _hand_over()

    outcomes = run_workers(assign_same_dispatch, [(shared, dispatch_id, tid) for tid in ids])

    winners = [name for name, outcome in outcomes.items() if outcome == "assigned"]
    assert len(winners) == 1, outcomes
    losers = [outcome for name, outcome in outcomes.items() if name not in winners]
    assert all(o == "conflict" or str(o).startswith("refused: ") for o in losers), outcomes

    db.session.expire_all()
    stored = db.session.get(Dispatch, dispatch_id)
    winner_id = int(winners[0].split()[-1])
    assert (stored.status, stored.assigned_user_id) == ("Assigned", winner_id)
    assert stored.version_id == 2  # created, then changed once
    history = db.session.execute(
        select(DispatchStatusHistory.status_from, DispatchStatusHistory.status_to, DispatchStatusHistory.change_reason)
        .where(DispatchStatusHistory.dispatch_id == dispatch_id).order_by(DispatchStatusHistory.id)
    ).all()
    assert [tuple(row) for row in history] == [
        (None, "Created", "Dispatch created"), ("Created", "Assigned", f"race by Racer {ids.index(winner_id)}")]
    # Only the winner's capacity claim survived; the losers' were rolled back with their work.
    counters = dict(
        db.session.execute(select(TechnicianProfile.user_id, TechnicianProfile.active_dispatch_count)).all())
    assert counters == {tid: (1 if tid == winner_id else 0) for tid in ids}


def test_concurrent_batch_and_auto_assignment_never_double_assign_or_overbook(shared):
    capacities = [1, 2, 1, 2, 1]
    technicians = [ms.technician(f"Small {i}", at=ms.km_east(2 * i), max_concurrent=c)
                   for i, c in enumerate(capacities)]
    dispatches = [ms.dispatch(priority=random.Random(i).choice(["Low", "Normal", "High"])) for i in range(16)]
    ids, technician_ids = [d.id for d in dispatches], [t.id for t in technicians]
    _hand_over()

    shuffled = ids[:]
    random.Random(7).shuffle(shuffled)
    outcomes = run_workers(assign_many, [
        (shared, "batch 1", "batch", ids),
        (shared, "batch 2", "batch", ids),
        (shared, "auto in order", "auto", ids),
        (shared, "auto shuffled", "auto", shuffled),
    ])

    db.session.expire_all()
    # No dispatch was assigned twice: one "Assigned" history row at most, one metric per assignment.
    per_dispatch = assignments_per_dispatch()
    twice = [d for d, n in per_dispatch.items() if n > 1]
    assert not twice, [history_rows(d) for d in twice]
    metrics = Counter(db.session.scalars(select(DispatchMetric.dispatch_id)))
    assert metrics == per_dispatch
    # Nobody overbooked, and the stored counters agree with the dispatches.
    counted = open_counts()
    for technician_id, capacity in zip(technician_ids, capacities, strict=True):
        profile = ms.profile_of(technician_id)
        assert profile.active_dispatch_count == counted.get(technician_id, 0), (technician_id, outcomes)
        assert profile.active_dispatch_count <= capacity == profile.max_concurrent_dispatches
    assigned = sum(counted.values())
    assert assigned == len(per_dispatch) == sum(1 for d in ids if db.session.get(Dispatch, d).status == "Assigned")
    assert 0 < assigned <= sum(capacities), outcomes  # 16 dispatches for 7 slots
    reported = sum(outcome.get("assigned", 0) for outcome in outcomes.values())
    assert reported == assigned, outcomes


# --- The same interleavings, forced deterministically --------------------------------------------
#
# "Another worker" here is a second application with its own session, used in the middle of
# the first one's work; it is what the processes above do at random moments.


@pytest.fixture
def other_worker(make_app):
    other = make_app(MOTORPOOL_NOTIFIERS="")

    def assign(dispatch_id: int, technician_id: int) -> None:
        from app.models import User
        from app.services import dispatches
        from app.services.actors import acting_as, system_user

        with other.app_context():
            with acting_as(system_user()):
                dispatches.assign(db.session.get(Dispatch, dispatch_id), db.session.get(User, technician_id),
                                  "taken by another worker")
            db.session.remove()

    return assign


def test_auto_assign_does_not_reassign_a_dispatch_taken_while_it_tried_a_full_technician(
    shared, other_worker, monkeypatch
):
    """The first candidate is refused (full); meanwhile another worker assigns the dispatch."""
    from app.services import capacity, matching

    first = ms.technician("First Choice", skills={"diesel": 5})
    second = ms.technician("Second Choice", skills={"diesel": 3})
    elsewhere = ms.technician("Elsewhere", skills={"diesel": 1}, at=ms.km_east(50))
    dispatch = ms.dispatch()
    dispatch_id, elsewhere_id = dispatch.id, elsewhere.id
    real_claim = capacity.claim
    interleaved = []

    def claim(technician):
        if not interleaved:
            interleaved.append(technician.id)
            other_worker(dispatch_id, elsewhere_id)
            raise capacity.CapacityExceeded(f"{technician.name} filled up a moment ago")
        return real_claim(technician)

    monkeypatch.setattr(capacity, "claim", claim)

    assert matching.auto_assign(dispatch) is None

    assert interleaved == [first.id]
    db.session.expire_all()
    stored = db.session.get(Dispatch, dispatch.id)
    assert stored.assigned_user_id == elsewhere.id
    assert assignments_per_dispatch()[dispatch.id] == 1
    assert ms.profile_of(second).active_dispatch_count == 0
    assert db.session.scalar(select(func.count()).select_from(DispatchMetric)) == 0


def test_assign_pending_skips_a_dispatch_assigned_by_another_worker_after_planning(
    shared, other_worker, monkeypatch
):
    from app.services import matching

    technicians = [ms.technician(f"Planned {i}", max_concurrent=1) for i in range(2)]
    elsewhere = ms.technician("Elsewhere", at=ms.km_east(60), max_concurrent=1)
    first, second = ms.dispatch(priority="High"), ms.dispatch(priority="Normal")
    second_id, elsewhere_id = second.id, elsewhere.id  # read now: touching them later would reload them
    real_assign_to = matching.assign_to
    calls = []

    def assign_to(dispatch, technician_id, **kwargs):
        calls.append((dispatch.id, technician_id))
        metric = real_assign_to(dispatch, technician_id, **kwargs)
        if len(calls) == 1:
            other_worker(second_id, elsewhere_id)  # before the batch reaches the second one
        return metric

    monkeypatch.setattr(matching, "assign_to", assign_to)

    report = matching.assign_pending()

    assert [c[0] for c in calls] == [first.id]
    assert (report.considered, report.assigned, report.conflicts, report.left_created) == (2, 1, 1, 0)
    db.session.expire_all()
    assert db.session.get(Dispatch, second.id).assigned_user_id == elsewhere.id
    assert assignments_per_dispatch() == Counter({first.id: 1, second.id: 1})
    assert {t.id: ms.profile_of(t).active_dispatch_count for t in [*technicians, elsewhere]} == open_counts() | {
        t.id: 0 for t in [*technicians, elsewhere] if t.id not in open_counts()}


def override_or_finish(url: str, name: str, dispatch_id: int, technician_id: int, barrier, results) -> None:
    """Either a manager's override past capacity, or the technician's completion of their dispatch."""
    from app.models import User
    from app.services import dispatches, matching
    from app.services.errors import ConcurrentUpdate, DomainError

    def work(prepare: bool, state=None):
        if prepare:
            return None
        dispatch = db.session.get(Dispatch, dispatch_id)
        try:
            if name.startswith("override"):
                matching.assign_to(dispatch, technician_id, reason="Needed there now")
            else:
                dispatches.change_status(dispatch, "Cancelled", "Done by someone else")
        except ConcurrentUpdate:
            return "conflict"
        except DomainError as refusal:
            return f"refused: {refusal.message}"
        assert db.session.get(User, technician_id) is not None
        return "done"

    _run_worker(url, barrier, results, name, work)


def test_an_override_past_capacity_and_a_concurrent_release_keep_the_count_true(shared):
    """The count ends as min(open dispatches, limit) whichever commits first, and the CHECK holds."""
    from app.services import dispatches

    full = ms.technician("Full", max_concurrent=1)
    held, extra = ms.dispatch(), ms.dispatch()
    dispatches.assign(held, full)
    full_id, held_id, extra_id = full.id, held.id, extra.id
    _hand_over()

    outcomes = run_workers(override_or_finish, [(shared, "override", extra_id, full_id),
                                                (shared, "finish", held_id, full_id)])

    assert set(outcomes.values()) == {"done"}, outcomes
    db.session.expire_all()
    profile = ms.profile_of(full_id)
    assert open_counts().get(full_id, 0) == 1
    assert profile.active_dispatch_count == min(1, profile.max_concurrent_dispatches) == 1
