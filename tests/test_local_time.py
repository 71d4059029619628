"""Times in people's zones: shown and typed in the user's zone (else the organisation's),
stored in UTC; shift hours on the technician's wall clock, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import render_template_string
from flask_login import login_user
from sqlalchemy import func, select

from app import create_app
from app.checklists.fields import ChecklistField, FieldKind
from app.config import check_timezone
from app.extensions import db
from app.models import Dispatch, DispatchStatusHistory, TechnicianProfile, User, utcnow
from app.services import dispatches, local_time, matching
from app.services.errors import ValidationError
from app.services.candidate_pool import _shift_state
from tests import matching_support as ms
from tests.factories import (
    AdminFactory,
    AssetFactory,
    ManagerFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
    configured_truck_type,
)
from tests.test_web import dispose, instance_dir, sqlite_config  # noqa: F401 - fixture

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
LEFT_AT = ChecklistField("left_at", "Left the depot", FieldKind.DATETIME)


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.isoweekday() % 7))


def _html(response) -> str:
    return response.get_data(as_text=True)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


# --- The organisation's zone and the conversion rules --------------------------------------


def test_an_unknown_organisation_zone_stops_start_up_with_what_to_set(instance_dir, tmp_path):  # noqa: F811
    with pytest.raises(ValueError, match="MOTORPOOL_TIMEZONE must be an IANA time zone name such as Europe/Berlin"):
        create_app(sqlite_config(tmp_path, MOTORPOOL_TIMEZONE="Berlin time"))
    assert check_timezone(" Europe/Berlin ") == "Europe/Berlin"


def test_the_organisations_zone_shows_times_when_the_user_has_none(instance_dir, tmp_path):  # noqa: F811
    app = create_app(sqlite_config(tmp_path, MOTORPOOL_TIMEZONE="Europe/Berlin"))
    try:
        with app.test_request_context():
            summer, winter = datetime(2026, 7, 1, 12, 0, tzinfo=UTC), datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
            assert render_template_string("{{ m|local_time }}", m=summer) == "2026-07-01 14:00 CEST"
            assert render_template_string("{{ m|local_time }}", m=winter) == "2026-01-15 13:00 CET"
            assert render_template_string("{{ zone_label() }}") == "Europe/Berlin"
    finally:
        dispose(app)


def test_wall_time_in_a_gap_is_refused_and_a_repeated_one_is_its_first_occurrence():
    with pytest.raises(ValidationError, match=r"2026-03-29 02:30 does not exist in Europe/Berlin: the clocks jump "
                                              r"forward then; enter a time after the change, such as 03:30"):
        local_time.to_utc(datetime(2026, 3, 29, 2, 30), BERLIN)
    # 02:30 happens twice on 25 October: the first, still on summer time (UTC+2).
    assert local_time.to_utc(datetime(2026, 10, 25, 2, 30), BERLIN) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert local_time.to_utc(datetime(2026, 11, 1, 1, 30), NEW_YORK) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    # An explicit offset is taken as it is.
    typed = datetime(2026, 3, 29, 2, 30, tzinfo=ZoneInfo("Etc/GMT-1"))
    assert local_time.to_utc(typed, BERLIN) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


# --- Display in the user's zone ------------------------------------------------------------


def test_pages_show_times_in_the_signed_in_users_zone(app, client, auth):
    manager = ManagerFactory(time_zone="America/New_York")
    db.session.commit()
    with app.test_request_context():
        login_user(manager)
        moment = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
        assert render_template_string("{{ m|local_time }}", m=moment) == "2026-07-01 08:00 EDT"
    auth.login(manager)
    page = _html(client.get("/account/"))
    assert "Pages show times in America/New_York" in page
    assert " EDT</td>" in page or " EST</td>" in page  # the session's sign-in time, in their zone
    assert "Due (America/New_York)" in _html(client.get("/dispatches/new"))


def test_the_taken_back_message_names_the_time_in_the_technicians_zone(app, system_actor):
    technician = ms.technician("Tokyo Tech")
    technician.time_zone = "Asia/Tokyo"
    dispatch = ms.dispatch(skill_name=None)
    matching.assign_to(dispatch, technician.id)
    dispatches.unassign(dispatch, "needed elsewhere")
    db.session.commit()
    changed = db.session.scalars(select(DispatchStatusHistory.changed_date).order_by(DispatchStatusHistory.id.desc())
                                 ).first()
    with app.test_request_context():
        login_user(technician)
        message = dispatches.not_yours_message(dispatch, technician)
    assert f"at {local_time.format_local(changed, 'short', zone=ZoneInfo('Asia/Tokyo'))}." in message
    assert message.count("JST") == 1 and "UTC" not in message


# --- Input in the user's zone --------------------------------------------------------------


@pytest.fixture
def truck(app):
    return AssetFactory(asset_tag="TRK-0042", asset_type=configured_truck_type())


def _form(truck, due: str) -> dict:
    return {"asset_id": str(truck.id), "title": "Brake check", "priority": "Normal", "description": "",
            "due_date": due, "required_skill": "", "estimated_duration_hours": ""}


def test_the_due_date_is_typed_in_the_users_zone_and_stored_in_utc(app, client, auth, truck):
    auth.login(ManagerFactory(time_zone="Europe/Berlin"))
    year = utcnow().year + 1
    response = client.post("/dispatches/new", data=_form(truck, f"{year}-07-01T14:00"))
    assert response.status_code == 303, _html(response)
    dispatch = db.session.scalar(select(Dispatch))
    assert dispatch.due_date == datetime(year, 7, 1, 12, 0, tzinfo=UTC)  # 14:00 CEST
    page = _html(client.get(response.headers["Location"]))
    assert f"{year}-07-01 14:00 CEST" in page


def test_a_due_date_the_clocks_skip_is_refused_next_to_the_field_and_nothing_is_written(app, client, auth, truck):
    auth.login(ManagerFactory(time_zone="Europe/Berlin"))
    gap = _last_sunday(utcnow().year + 1, 3)
    response = client.post("/dispatches/new", data=_form(truck, f"{gap:%Y-%m-%d}T02:30"))
    assert response.status_code == 422
    assert (f"Due {gap:%Y-%m-%d} 02:30 does not exist in Europe/Berlin: the clocks jump forward then; "
            "enter a time after the change, such as 03:30.") in _html(response)
    assert _count(Dispatch) == 0


def test_a_checklist_datetime_is_typed_in_the_users_zone(app):
    technician = TechnicianFactory(time_zone="Europe/Berlin")
    db.session.commit()
    # Without a signed-in user the organisation's zone (UTC here) applies.
    assert LEFT_AT.parse("2025-06-01T08:30") == datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
    with app.test_request_context():
        login_user(technician)
        stored = LEFT_AT.parse("2025-06-01T08:30")
        assert stored == datetime(2025, 6, 1, 6, 30, tzinfo=UTC)
        assert LEFT_AT.display(stored) == "2025-06-01T08:30"  # shown back as typed
        assert LEFT_AT.parse("2025-10-26T02:30") == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # first of the two
        with pytest.raises(ValidationError, match="Left the depot 2025-03-30 02:30 does not exist in Europe/Berlin"):
            LEFT_AT.parse("2025-03-30T02:30")


def test_back_at_is_typed_in_the_admins_zone(app, client, auth):
    technician = TechnicianFactory()
    TechnicianProfileFactory(user=technician)
    auth.login(AdminFactory(time_zone="America/New_York"))
    page = _html(client.get(f"/admin/technicians/{technician.id}/profile"))
    assert "Back at (leave empty if not known) (America/New_York)" in page
    year = utcnow().year + 1
    response = client.post(f"/admin/technicians/{technician.id}/availability",
                           data={"active": "0", "unavailable_reason": "Training", "unavailable_until": f"{year}-01-05T08:00"})
    assert response.status_code == 302, _html(response)
    db.session.expire_all()
    profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == technician.id))
    assert profile.unavailable_until == datetime(year, 1, 5, 13, 0, tzinfo=UTC)  # 08:00 EST


# --- Choosing a zone -----------------------------------------------------------------------


def test_a_user_chooses_their_zone_on_the_account_page(app, client, auth):
    user = ManagerFactory()
    db.session.commit()
    auth.login(user)
    assert "The organisation&#39;s (UTC)" in _html(client.get("/account/"))
    response = client.post("/account/time-zone", data={"time_zone": "Australia/Sydney"}, follow_redirects=True)
    assert "Times are now shown and typed in Australia/Sydney." in _html(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).time_zone == "Australia/Sydney"

    response = client.post("/account/time-zone", data={"time_zone": ""}, follow_redirects=True)
    assert "Times are now shown and typed in UTC." in _html(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).time_zone is None


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "CEST", "../../etc/passwd", "europe/berlin"])
def test_an_unknown_zone_is_refused_and_changes_nothing(app, client, auth, name):
    user = ManagerFactory(time_zone="Europe/Berlin")
    db.session.commit()
    auth.login(user)
    response = client.post("/account/time-zone", data={"time_zone": name})
    assert response.status_code == 422
    assert "is not a time zone; choose one from the list, written like Europe/Berlin" in _html(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).time_zone == "Europe/Berlin"


def test_an_admin_sets_a_users_zone_and_an_unknown_one_is_refused(app, client, auth):
    admin, technician = AdminFactory(), TechnicianFactory(name="Nia Tech")
    TechnicianProfileFactory(user=technician)
    db.session.commit()
    auth.login(admin)
    fields = {"email": technician.email, "name": technician.name, "role": "technician", "password": ""}
    response = client.post(f"/admin/users/{technician.id}/edit", data={**fields, "time_zone": "Nowhere/Land"})
    assert response.status_code == 422 and "&#39;Nowhere/Land&#39; is not a time zone" in _html(response)
    db.session.expire_all()
    assert db.session.get(User, technician.id).time_zone is None

    response = client.post(f"/admin/users/{technician.id}/edit", data={**fields, "time_zone": "America/New_York"})
    assert response.status_code == 302, _html(response)
    db.session.expire_all()
    assert db.session.get(User, technician.id).time_zone == "America/New_York"
    assert "America/New_York" in _html(client.get("/admin/technicians"))
    profile_page = _html(client.get(f"/admin/technicians/{technician.id}/profile"))
    assert "Shift start (America/New_York)" in profile_page and "Shift end (America/New_York)" in profile_page


# --- Shift hours on the technician's wall clock --------------------------------------------


def _shift(zone: str | None, start=time(7, 0), end=time(17, 0), days="1234567") -> dict:
    return {"shift_days": (days,), "shift_start": (start,), "shift_end": (end,), "time_zone": (zone,)}


@pytest.mark.parametrize(
    ("now", "on", "left"),
    [
        (datetime(2026, 3, 27, 5, 30, tzinfo=UTC), False, 0.0),  # Friday 06:30 CET: not yet
        (datetime(2026, 3, 27, 6, 30, tzinfo=UTC), True, 9.5),   # Friday 07:30 CET
        (datetime(2026, 3, 29, 5, 30, tzinfo=UTC), True, 9.5),   # Sunday, the change day: 07:30 CEST
        (datetime(2026, 3, 30, 5, 30, tzinfo=UTC), True, 9.5),   # Monday 07:30 CEST
        (datetime(2026, 3, 30, 15, 0, tzinfo=UTC), False, 0.0),  # Monday 17:00 CEST: over
        (datetime(2026, 10, 26, 6, 30, tzinfo=UTC), True, 9.5),  # after the change back: 07:30 CET
    ],
)
def test_a_berlin_day_shift_stays_seven_to_five_local_across_the_change(now, on, left):
    on_shift, hours_left = _shift_state(_shift("Europe/Berlin"), now)
    assert bool(on_shift[0]) is on and hours_left[0] == pytest.approx(left)


def test_hours_left_on_the_change_day_are_elapsed_hours():
    night = _shift("Europe/Berlin", start=time(22, 0), end=time(6, 0))
    # Saturday 28 March 22:30 CET until Sunday 06:00 CEST: 7.5 on the wall clock, 6.5 elapsed.
    assert _shift_state(night, datetime(2026, 3, 28, 21, 30, tzinfo=UTC))[1][0] == pytest.approx(6.5)
    # Saturday 24 October 22:30 CEST until Sunday 06:00 CET: 8.5 elapsed.
    assert _shift_state(night, datetime(2026, 10, 24, 20, 30, tzinfo=UTC))[1][0] == pytest.approx(8.5)
    # A shift whose start and end are equal lasts 24 hours on the wall clock (23 elapsed that day).
    round_the_clock = _shift("Europe/Berlin", start=time(6, 0), end=time(6, 0))
    on_shift, left = _shift_state(round_the_clock, datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    assert bool(on_shift[0]) and left[0] == pytest.approx(4.5)  # 00:30 CET → 06:00 CEST


@pytest.mark.parametrize(
    ("now", "on"),
    [
        (datetime(2026, 3, 6, 11, 30, tzinfo=UTC), False),  # Friday 06:30 EST
        (datetime(2026, 3, 6, 12, 30, tzinfo=UTC), True),   # Friday 07:30 EST
        (datetime(2026, 3, 9, 11, 30, tzinfo=UTC), True),   # Monday 07:30 EDT (clocks changed on the 8th)
        (datetime(2026, 3, 9, 21, 30, tzinfo=UTC), False),  # Monday 17:30 EDT
    ],
)
def test_a_new_york_day_shift_follows_the_local_clock(now, on):
    on_shift, hours_left = _shift_state(_shift("America/New_York", days="12345"), now)
    assert bool(on_shift[0]) is on
    assert hours_left[0] == pytest.approx(9.5 if on else 0.0)


def test_shift_days_are_weekdays_in_the_technicians_zone():
    weekdays = _shift("Pacific/Auckland", start=time(8, 0), end=time(17, 0), days="12345")
    # Sunday 20:00 UTC is Monday 09:00 in Auckland (UTC+13): at work.
    sunday_utc = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    assert sunday_utc.isoweekday() == 7
    assert _shift_state(weekdays, sunday_utc)[0][0]
    # Friday 20:00 UTC is Saturday 09:00 there: a day off.
    assert not _shift_state(weekdays, datetime(2026, 12, 4, 20, 0, tzinfo=UTC))[0][0]


def test_technicians_in_several_zones_are_each_read_on_their_own_clock():
    zones = ("Europe/Berlin", "America/New_York", None, "Asia/Kolkata", "Europe/Berlin")
    columns = {"shift_days": ("1234567",) * 5, "shift_start": (time(7, 0),) * 5,
               "shift_end": (time(17, 0),) * 5, "time_zone": zones}
    on_shift, left = _shift_state(columns, datetime(2026, 7, 1, 6, 0, tzinfo=UTC))
    # 08:00 CEST, 02:00 EDT, 06:00 UTC (the organisation's outside an app), 11:30 IST, 08:00 CEST
    assert on_shift.tolist() == [True, False, False, True, True]
    assert left.tolist() == pytest.approx([9.0, 0.0, 0.0, 5.5, 9.0])


def test_the_pool_reads_shifts_in_the_technicians_zone_else_the_organisations(make_app):
    app = make_app(MOTORPOOL_TIMEZONE="Europe/Berlin")
    with app.app_context():
        from app.services.actors import acting_as, system_user

        with acting_as(system_user()):
            shift = {"shift_days": "1234567", "shift_start": time(7, 0), "shift_end": time(17, 0)}
            org = ms.technician("Org Zone", **shift)
            own = ms.technician("Own Zone", **shift)
            own.time_zone = "America/New_York"
            db.session.commit()
            loaded = matching.load_pool(now=datetime(2026, 3, 27, 6, 30, tzinfo=UTC))  # 07:30 CET, 02:30 EDT
            row = {int(t): i for i, t in enumerate(loaded.pool.technician_ids)}
            assert bool(loaded.pool.on_shift[row[org.id]]) and loaded.pool.shift_hours_left[row[org.id]] == \
                pytest.approx(9.5)
            assert not loaded.pool.on_shift[row[own.id]]
        db.session.rollback()


# --- The command line ----------------------------------------------------------------------


def test_the_command_line_reads_times_in_the_organisations_zone_unless_an_offset_is_given(make_app):
    app = make_app(MOTORPOOL_TIMEZONE="Europe/Berlin")
    with app.app_context():
        AssetFactory(asset_tag="TRK-0099", asset_type=configured_truck_type())
        db.session.commit()
        runner = app.test_cli_runner()
        year = utcnow().year + 1
        create = ["dispatch", "create", "--asset", "TRK-0099", "--title", "Oil change", "--no-auto-assign"]

        result = runner.invoke(args=[*create, "--due", f"{year}-07-01T14:00"])
        assert result.exit_code == 0, result.output
        assert db.session.scalar(select(Dispatch.due_date)) == datetime(year, 7, 1, 12, 0, tzinfo=UTC)

        result = runner.invoke(args=[*create, "--due", f"{year}-07-01T14:00+00:00"])
        assert result.exit_code == 0, result.output
        assert datetime(year, 7, 1, 14, 0, tzinfo=UTC) in db.session.scalars(select(Dispatch.due_date)).all()

        gap = _last_sunday(year, 3)
        result = runner.invoke(args=[*create, "--due", f"{gap:%Y-%m-%d}T02:30"])
        assert result.exit_code == 2
        assert "does not exist in Europe/Berlin: the clocks jump forward then" in result.output
        assert _count(Dispatch) == 2
        help_text = " ".join(runner.invoke(args=[*create[:2], "--help"]).output.split())
        assert "in the organisation's time zone (MOTORPOOL_TIMEZONE) unless an offset is given" in help_text
        db.session.rollback()
