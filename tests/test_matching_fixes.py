"""Edge cases of matching and capacity: expired unavailability, overnight shifts, late profiles,
auto-assignment that fails after the dispatch exists, nested transactions, plugin pages."""

from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from flask import Blueprint
from sqlalchemy import select

from app.extensions import db
from app.models import Dispatch, Event, TechnicianProfile, utcnow
from app.plugins import hookimpl
from app.services import dispatches, matching, technicians
from app.services.candidate_pool import _shift_state
from app.services.transaction import transaction
from tests import matching_support as ms
from tests.factories import TechnicianFactory


@pytest.fixture
def actor(system_actor):
    return system_actor


def test_a_technician_whose_unavailability_ran_out_is_assigned_and_made_available(app, actor):
    tech = ms.technician("Back Again", skills={"diesel": 5}, availability="Unavailable",
                         unavailable_reason="Training", unavailable_until=utcnow() - timedelta(minutes=1))
    dispatch = ms.dispatch(skill_name="diesel")

    metric = matching.auto_assign(dispatch)

    assert metric is not None and metric.technician_id == tech.id
    db.session.expire_all()
    profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == tech.id))
    assert (profile.availability, profile.unavailable_reason, profile.unavailable_until) == ("Available", None, None)
    assert profile.active_dispatch_count == 1


def test_a_technician_still_unavailable_is_not_claimed(app, actor):
    tech = ms.technician("Away", availability="Unavailable", unavailable_reason="Leave",
                         unavailable_until=utcnow() + timedelta(days=1))
    dispatch = ms.dispatch(skill_name="diesel")
    with pytest.raises(Exception, match="unavailable \\(Leave\\)"):
        dispatches.assign(dispatch, tech)


@pytest.mark.parametrize(
    ("now", "days", "expected"),
    [
        (datetime(2026, 11, 26, 3, 0, tzinfo=UTC), "3", True),   # Thursday 03:00, Wednesday's night shift
        (datetime(2026, 11, 25, 3, 0, tzinfo=UTC), "3", False),  # Wednesday 03:00: Tuesday had no shift
        (datetime(2026, 11, 25, 23, 0, tzinfo=UTC), "3", True),  # Wednesday 23:00: the shift has started
        (datetime(2026, 11, 26, 23, 0, tzinfo=UTC), "3", False),  # Thursday 23:00: no Thursday shift
    ],
)
def test_overnight_shift_belongs_to_the_day_it_starts(now, days, expected):
    columns = {"shift_days": (days,), "shift_start": (time(22, 0),), "shift_end": (time(6, 0),)}
    on_shift, hours_left = _shift_state(columns, now)
    assert bool(on_shift[0]) is expected
    if expected:
        assert hours_left[0] == pytest.approx(3.0 if now.hour == 3 else 7.0)


@pytest.mark.parametrize("hour", [6, 12, 23, 0, 3, 5])
def test_a_shift_whose_start_equals_its_end_lasts_24_hours(hour):
    # Wednesday 06:00 to Thursday 06:00, for a Wednesday-only shift.
    now = datetime(2026, 11, 25 if hour >= 6 else 26, hour, 0, tzinfo=UTC)
    columns = {"shift_days": ("3",), "shift_start": (time(6, 0),), "shift_end": (time(6, 0),)}
    on_shift, hours_left = _shift_state(columns, now)
    assert bool(on_shift[0]) is True
    assert hours_left[0] == pytest.approx((6 - hour) % 24 or 24)


def test_a_24_hour_shift_ends_after_24_hours():
    columns = {"shift_days": ("3",), "shift_start": (time(6, 0),), "shift_end": (time(6, 0),)}
    on_shift, _ = _shift_state(columns, datetime(2026, 11, 26, 6, 0, tzinfo=UTC))  # Thursday 06:00
    assert bool(on_shift[0]) is False


def test_a_profile_created_late_counts_dispatches_already_assigned(app, actor):
    tech = TechnicianFactory()
    first, second = ms.dispatch(skill_name=None), ms.dispatch(skill_name=None)
    dispatches.assign(first, tech)
    dispatches.assign(second, tech)  # no profile yet: nothing limits or counts

    with pytest.raises(Exception, match="already holds 2 open dispatches"):
        technicians.save_profile(tech, max_concurrent_dispatches=1)
    db.session.rollback()
    profile = technicians.save_profile(tech, max_concurrent_dispatches=2)
    assert profile.active_dispatch_count == 2
    with pytest.raises(Exception, match="at capacity \\(2/2"):
        dispatches.assign(ms.dispatch(skill_name=None), tech)


def test_a_failing_distance_provider_falls_back_to_straight_lines(make_app, system_actor):
    class Broken:
        def distances(self, origin, latitudes, longitudes, speed_kmh):
            raise ConnectionError("routing service down")

    app = make_app(MOTORPOOL_STRICT_PLUGINS=False)
    with app.app_context():
        app.extensions[matching.DISTANCE_KEY] = Broken()
        near = ms.technician("Near", at=ms.km_east(1), skills={"diesel": 3})
        ms.technician("Far", at=ms.km_east(60), skills={"diesel": 3})
        dispatch = ms.dispatch(skill_name="diesel")
        ranking = matching.rank(dispatch)
        assert ranking.outcome.ranked[0].technician_id == near.id
        assert np.isclose(ranking.distances.min(), 1.0, atol=0.05)


def test_auto_assignment_failing_after_creation_keeps_the_dispatch_and_says_why(make_app, system_actor):
    class Broken:
        def rank(self, *args, **kwargs):
            raise RuntimeError("matcher exploded")

    app = make_app(MOTORPOOL_STRICT_PLUGINS=False, MOTORPOOL_AUTO_ASSIGN=True)
    with app.app_context():
        # Even the built-in fallback fails here, so the assignment itself fails.
        app.extensions[matching.MATCHERS_KEY] = {"weighted": Broken()}
        ms.technician("Anyone", skills={"diesel": 3})
        asset = ms.asset()
        dispatch = dispatches.create_dispatch(title="Survives", asset_id=asset.id)
        db.session.expire_all()
        stored = db.session.get(Dispatch, dispatch.id)
        assert stored.status == "Created"
        events = db.session.scalars(select(Event.description).where(Event.event_type == "dispatch.not_assigned")).all()
        assert any("matcher exploded" in text for text in events)


def test_step_by_step_services_refuse_to_run_inside_an_outer_transaction(app, actor):
    dispatch = ms.dispatch(skill_name=None)
    with pytest.raises(RuntimeError, match="call it outside transaction"):
        with transaction():
            matching.auto_assign(dispatch)
    db.session.rollback()
    assert db.session.get(Dispatch, dispatch.id).status == "Created"


def test_a_plugin_blueprint_that_clashes_is_left_out_outside_strict_mode(make_app, monkeypatch):
    clash = Blueprint("main", __name__)

    class Clashing:
        @hookimpl
        def motorpool_blueprints(self):
            return [clash]

    from app.plugins import manager

    real_load = manager.load_plugins

    def load_with_clash(app, blocked=None):
        system = real_load(app, blocked)
        system.manager.register(Clashing(), name="clashing")
        system.records["clashing"] = manager.PluginRecord(name="clashing", origin="test", version="1")
        return system

    monkeypatch.setattr(manager, "load_plugins", load_with_clash)
    app = make_app(MOTORPOOL_STRICT_PLUGINS=False)
    assert "already registered" in manager.plugin_system(app).records["clashing"].error
    assert app.test_client().get("/healthz").status_code == 200


def test_cli_assigns_by_hand_and_overrides_priority(app, actor):
    chosen = ms.technician("Chosen One", skills={"diesel": 2})
    ms.technician("Better Match", skills={"diesel": 5})
    dispatch = ms.dispatch(skill_name="diesel", priority="Low")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["dispatch", "assign", dispatch.dispatch_number, "--technician", chosen.email])
    assert result.exit_code == 0, result.output
    assert f"{dispatch.dispatch_number} assigned to Chosen One" in result.output
    db.session.expire_all()
    stored = db.session.get(Dispatch, dispatch.id)
    assert stored.assigned_user_id == chosen.id
    assert [m.mode for m in stored.metrics] == ["manual"]

    created = stored.created_date
    result = runner.invoke(args=["dispatch", "priority", dispatch.dispatch_number, "Critical", "--reason", "Customer"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    stored = db.session.get(Dispatch, dispatch.id)
    assert stored.priority == "Critical"
    assert stored.sla_due_at == created + timedelta(hours=4)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["dispatch", "assign", "D-1999-000001", "--technician", "x@example.com"], "no dispatch D-1999-000001"),
        (["dispatch", "priority", "{number}", "Urgent"], "Unknown priority 'Urgent'"),
        (["dispatch", "assign", "{number}", "--technician", "nobody@example.com"], "no technician"),
    ],
)
def test_cli_manual_assignment_refusals_say_why(app, actor, args, words):
    dispatch = ms.dispatch(skill_name=None)
    args = [a.format(number=dispatch.dispatch_number) for a in args]
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0
    assert words in result.output
    db.session.expire_all()
    stored = db.session.get(Dispatch, dispatch.id)
    assert (stored.status, stored.priority) == ("Created", "Normal")
