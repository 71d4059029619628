"""A manager's override of the engine: assigning a technician it would not pick, with a reason.

The override is recorded with the engine's view (why not, score, rank, its own pick) in the
metric, the history and an event; capacity stays within the database's CHECK constraint.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Dispatch, DispatchMetric, DispatchStatusHistory, Event, TechnicianProfile, utcnow
from app.models.base import clock_at
from app.services import dispatches as dispatch_service
from app.services import matching
from app.services.actors import acting_as
from app.services.errors import DomainError, ValidationError
from tests import matching_support as ms
from tests.dispatch_pages_support import html, login
from tests.factories import ManagerFactory, UserFactory


@pytest.fixture
def manager(app):
    return ManagerFactory(name="Morgan Manager")


@pytest.fixture
def actor(manager):
    with acting_as(manager):
        yield manager


def fresh(dispatch: Dispatch) -> Dispatch:
    db.session.expire_all()
    return db.session.get(Dispatch, dispatch.id)


def state(dispatch_id: int) -> tuple:
    """Everything an assignment changes: status, technician, version, history, metrics, events, counts."""
    db.session.expire_all()
    dispatch = db.session.get(Dispatch, dispatch_id)
    count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
    loads = tuple(db.session.execute(select(TechnicianProfile.user_id, TechnicianProfile.active_dispatch_count)
                                     .order_by(TechnicianProfile.user_id)).all())
    return (dispatch.status, dispatch.assigned_user_id, dispatch.version_id,
            count(DispatchStatusHistory, DispatchStatusHistory.dispatch_id == dispatch_id),
            count(DispatchMetric, DispatchMetric.dispatch_id == dispatch_id),
            count(Event, Event.dispatch_id == dispatch_id), loads)


@pytest.fixture
def fleet(app, actor):
    """Ace (the engine's pick), Full (at capacity 1/1), Night (off shift), Novice (lacks the skill)."""
    ace = ms.technician("Ace", skills={"diesel": 5})
    full = ms.technician("Full", at=ms.km_east(12), skills={"diesel": 4}, max_concurrent=1)
    night = ms.technician("Night", at=ms.km_east(30), skills={"diesel": 4}, shift_days=ms.off_shift_days())
    ms.skill("painting", "bodywork")  # unrelated to diesel: no half credit
    novice = ms.technician("Novice", at=ms.km_east(5), skills={"painting": 3})
    away = ms.technician("Away", skills={"diesel": 5}, availability="Unavailable", unavailable_reason="Leave")
    dispatch_service.assign(ms.dispatch(), full)  # Full is now 1/1
    return {"ace": ace, "full": full, "night": night, "novice": novice, "away": away}


# --- The service ---------------------------------------------------------------------------------


def test_an_override_past_capacity_is_recorded_with_the_engines_view(fleet, actor):
    full = fleet["full"]
    dispatch = ms.dispatch()

    metric = matching.assign_to(dispatch, full.id, reason="Only Full has the workshop key")

    dispatch = fresh(dispatch)
    assert (dispatch.status, dispatch.assigned_user_id) == ("Assigned", full.id)
    assert metric.mode == "override"
    last = dispatch.status_history[-1]
    assert (last.status_to, last.change_reason, last.changed_by_id) == ("Assigned", "Only Full has the workshop key",
                                                                        actor.id)
    [event] = [e for e in dispatch.events if e.event_type == "dispatch.assignment_override"]
    assert re.fullmatch(
        r"Override: Full assigned although at capacity \(1/1\); score 0\.\d\d, rank \d of 5; "
        r"the engine's pick: Ace \(0\.\d\d\)\. Reason: Only Full has the workshop key", event.description)
    assert event.user_id == actor.id
    # Held past the limit, not counted: the CHECK constraint (count <= limit) holds.
    profile = ms.profile_of(full)
    assert (profile.active_dispatch_count, profile.max_concurrent_dispatches, ms.open_dispatch_count(full)) == (1, 1, 2)


def test_past_capacity_no_slot_opens_until_the_open_work_falls_below_the_limit(fleet, actor):
    full = fleet["full"]
    first = db.session.scalar(select(Dispatch).where(Dispatch.assigned_user_id == full.id))
    extra = ms.dispatch()
    matching.assign_to(extra, full.id, reason="Urgent and nearby")

    dispatch_service.change_status(first, "Cancelled", "Customer cancelled")
    # Still holding one (the override): at capacity, so the engine and a plain assignment refuse.
    assert ms.profile_of(full).active_dispatch_count == 1 == ms.open_dispatch_count(full)
    with pytest.raises(DomainError, match=r"Full is at capacity \(1/1"):
        dispatch_service.assign(ms.dispatch(), full)
    db.session.rollback()
    dispatch_service.change_status(fresh(extra), "Cancelled", "Done elsewhere")
    assert ms.profile_of(full).active_dispatch_count == 0 == ms.open_dispatch_count(full)


def test_raising_the_limit_counts_a_dispatch_held_past_the_old_one(fleet, actor):
    from app.services import technicians

    full = fleet["full"]
    matching.assign_to(ms.dispatch(), full.id, reason="Urgent and nearby")
    technicians.save_profile(full, max_concurrent_dispatches=3)
    assert ms.profile_of(full).active_dispatch_count == 2 == ms.open_dispatch_count(full)


@pytest.mark.parametrize(("who", "why"), [
    ("night", r"off shift"),
    ("novice", r"lacks the required skill \(diesel\)"),
])
def test_off_shift_and_unskilled_are_overrides_too(fleet, actor, who, why):
    technician = fleet[who]
    dispatch = ms.dispatch()
    metric = matching.assign_to(dispatch, technician.id, reason="Asked for by the customer")
    assert metric.mode == "override" and re.search(why, metric.note)
    [event] = [e for e in fresh(dispatch).events if e.event_type == "dispatch.assignment_override"]
    assert re.search(why, event.description) and "the engine's pick: Ace" in event.description
    assert ms.profile_of(technician).active_dispatch_count == 1


def test_an_eligible_choice_is_a_plain_manual_assignment(fleet, actor):
    dispatch = ms.dispatch()
    metric = matching.assign_to(dispatch, fleet["ace"].id)
    dispatch = fresh(dispatch)
    assert metric.mode == "manual" and dispatch.status_history[-1].change_reason == "Manual assignment"
    assert not [e for e in dispatch.events if e.event_type == "dispatch.assignment_override"]


@pytest.mark.parametrize(("who", "reason", "message"), [
    ("full", None, r"Full is not one the engine would pick \(at capacity \(1/1\)\)\. To assign them anyway, give "
                   r"the reason"),
    ("night", "   ", r"Night is not one the engine would pick \(off shift\).*give the reason"),
    ("night", "x" * 501, r"The reason is 501 characters long; the limit is 500"),
    ("night", "bad\x00reason", r"The reason contains a NUL character"),
    ("away", "Needed", r"Away is unavailable \(Leave\): not even an override assigns them"),
    (None, "Needed", r"Technician #999999 does not exist"),
])
def test_refused_overrides_say_why_and_change_nothing(fleet, actor, who, reason, message):
    dispatch = ms.dispatch()
    before = state(dispatch.id)
    technician_id = fleet[who].id if who else 999999
    with pytest.raises(ValidationError, match=message):
        matching.assign_to(dispatch, technician_id, reason=reason)
    db.session.rollback()
    assert state(dispatch.id) == before


def test_a_non_technician_or_a_final_dispatch_is_refused(fleet, actor):
    dispatch = ms.dispatch()
    clerk = UserFactory(name="Clerk Kent", role="manager")
    before = state(dispatch.id)
    with pytest.raises(ValidationError, match="Clerk Kent is not an active technician"):
        matching.assign_to(dispatch, clerk.id, reason="Needed")
    db.session.rollback()
    assert state(dispatch.id) == before

    dispatch_service.change_status(dispatch, "Cancelled", "Not needed")
    before = state(dispatch.id)
    with pytest.raises(DomainError, match="status 'Cancelled' cannot move to 'Assigned'"):
        matching.assign_to(dispatch, fleet["full"].id, reason="Needed")
    db.session.rollback()
    assert state(dispatch.id) == before


def test_the_engine_view_names_rank_score_and_pick(fleet, actor):
    dispatch = ms.dispatch()
    ranking = matching.rank(dispatch)
    view = matching.engine_view(ranking, fleet["night"].id)
    assert view.reasons == ["off shift"] and view.of == 5 and 1 <= view.rank <= 5
    assert view.pick[1] == "Ace" and view.km == pytest.approx(30, abs=0.5)
    assert matching.engine_view(ranking, fleet["ace"].id).reasons == []


# --- The picker ----------------------------------------------------------------------------------


def test_the_picker_shows_load_shift_and_distance_in_the_engines_order(fleet, actor):
    later = ms.technician("Later", at=ms.km_east(8), skills={"diesel": 4}, shift_days="1234567",
                          shift_start=time(23, 58), shift_end=time(23, 59))
    ranking = matching.rank(ms.dispatch())
    rows, more = matching.picker(ranking)
    names = [r.name for r in rows]
    eligible = [r.name for r in rows if r.eligible]
    views = [matching.engine_view(ranking, c.technician_id) for c in ranking.outcome.ranked]
    assert eligible == [v.name for v in views if not v.reasons] == ["Ace"]  # Novice lacks the skill
    assert names[:len(eligible)] == eligible and "Ace" == names[0] and not more
    by_name = {r.name: r for r in rows}
    assert (by_name["Full"].load, by_name["Full"].eligible, by_name["Full"].why) == ("1/1", False, "at capacity (1/1)")
    assert by_name["Night"].shift == "off today" and by_name["Ace"].shift == "on shift"
    if utcnow().time() < time(23, 58):
        assert by_name["Later"].shift == "off shift until 23:58"
    assert by_name["Night"].km == pytest.approx(30, abs=0.5) and by_name["Ace"].km == pytest.approx(0, abs=0.1)
    assert by_name["Away"].why == "unavailable" and by_name["Novice"].why == "lacks the required skill (diesel)"
    assert later.id


def test_the_picker_reads_a_technicians_shift_on_their_own_clock(fleet, actor):
    # Wednesday 12:00 UTC is already Thursday 00:00 in Auckland (NZST, UTC+12): a Thursday
    # shift there starts in seven hours, whereas on UTC's clock Thursday has not begun.
    with clock_at(datetime(2026, 6, 10, 12, 0, tzinfo=UTC)):
        kiwi = ms.technician("Kiwi", at=ms.km_east(3), skills={"diesel": 4}, shift_days="4",
                             shift_start=time(7, 0), shift_end=time(17, 0))
        ms.technician("Leeds", at=ms.km_east(3), skills={"diesel": 4}, shift_days="4",
                      shift_start=time(7, 0), shift_end=time(17, 0))
        kiwi.time_zone = "Pacific/Auckland"
        db.session.commit()
        rows, _ = matching.picker(matching.rank(ms.dispatch()))
    by_name = {r.name: r for r in rows}
    assert by_name["Kiwi"].shift == "off shift until 07:00"
    assert by_name["Leeds"].shift == "off today"  # the organisation's clock (UTC) says Wednesday


# --- The page (htmx) and the command line ---------------------------------------------------------


def test_override_through_the_page_with_htmx_shows_in_the_history(fleet, client, manager):
    dispatch = ms.dispatch()
    login(client, manager)
    page = html(client.get(f"/dispatches/{dispatch.id}"))
    picker = page[page.index('id="assign-technician"'):page.index("</select>", page.index('id="assign-technician"'))]
    assert re.search(r"1\. Ace — 0/3 · on shift · 0\.0 km", picker)
    assert re.search(r"Full — 1/1 · on shift · 12\.0 km — at capacity \(1/1\)", picker)
    assert picker.index("Ace") < picker.index("Not eligible") < picker.index("Full")

    # No reason: refused in place, nothing changes.
    before = state(dispatch.id)
    refused = client.post(f"/dispatches/{dispatch.id}/assign", headers={"HX-Request": "true"},
                          data={"technician_id": fleet["full"].id, "reason": "", "version": before[2]})
    assert refused.status_code == 422
    assert "Full is not one the engine would pick (at capacity (1/1)). To assign them anyway" in html(refused)
    assert state(dispatch.id) == before
    too_long = client.post(f"/dispatches/{dispatch.id}/assign", headers={"HX-Request": "true"},
                           data={"technician_id": fleet["full"].id, "reason": "x" * 501, "version": before[2]})
    assert too_long.status_code == 422 and "500" in html(too_long)
    assert state(dispatch.id) == before
    unknown = client.post(f"/dispatches/{dispatch.id}/assign", headers={"HX-Request": "true"},
                          data={"technician_id": 999999, "reason": "Needed", "version": before[2]})
    assert unknown.status_code == 422 and "Technician #999999 does not exist" in html(unknown)
    assert state(dispatch.id) == before

    response = client.post(f"/dispatches/{dispatch.id}/assign", headers={"HX-Request": "true"},
                           data={"technician_id": fleet["full"].id, "reason": "Only Full has the key",
                                 "version": before[2]})
    assert response.status_code == 303
    body = html(client.get(response.headers["Location"]))
    assert "an override of the engine, recorded in the history" in body
    history = body[body.index('id="history-heading"'):]
    assert "Override of the engine" in history and "Only Full has the key" in history
    assert re.search(r"Full assigned although at capacity \(1/1\); score 0\.\d\d, rank \d of 5; the engine&#39;s pick: "
                     r"Ace", history)
    assert fresh(dispatch).assigned_user_id == fleet["full"].id


def test_a_final_dispatch_refuses_an_override_on_the_page(fleet, client, manager):
    dispatch = ms.dispatch()
    dispatch_service.change_status(dispatch, "Cancelled", "Not needed")
    login(client, manager)
    before = state(dispatch.id)
    response = client.post(f"/dispatches/{dispatch.id}/assign",
                           data={"technician_id": fleet["night"].id, "reason": "Needed"})
    assert response.status_code == 409 and "cannot move to &#39;Assigned&#39;" in html(response)
    assert state(dispatch.id) == before


def test_override_through_the_command_line(fleet, app, actor):
    dispatch = ms.dispatch()
    runner = app.test_cli_runner()
    email = fleet["night"].email
    refused = runner.invoke(args=["dispatch", "assign", dispatch.dispatch_number, "--technician", email])
    assert refused.exit_code == 1 and "Night is not one the engine would pick (off shift)" in refused.output
    assert fresh(dispatch).status == "Created"

    result = runner.invoke(args=["dispatch", "assign", dispatch.dispatch_number, "--technician", email,
                                 "--reason", "Night asked for overtime"])
    assert result.exit_code == 0, result.output
    assert "Recorded as an override of the engine." in result.output
    dispatch = fresh(dispatch)
    assert dispatch.assigned_user_id == fleet["night"].id
    assert dispatch.status_history[-1].change_reason == "Night asked for overtime"
