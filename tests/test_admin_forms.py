"""Admin forms: every problem is shown at once, each next to its field and announced with it;
the technician profile's home base and shift days."""

from __future__ import annotations

import html as html_escape
import re

import pytest

from app.extensions import db
from app.models import MajorLocation, TechnicianProfile
from tests.admin_support import html, rows
from tests.factories import AdminFactory, MajorLocationFactory, TechnicianFactory, TechnicianProfileFactory


@pytest.fixture
def admin(client, auth):
    user = AdminFactory()
    auth.login(user)
    return user


def field_errors(page: str, field: str) -> list[str]:
    return [html_escape.unescape(text)
            for text in re.findall(rf'<p class="error" id="{field}-error[-0-9]*">([^<]*)</p>', page)]


def input_tag(page: str, field: str) -> str:
    return re.search(rf'<(?:input|select|textarea)[^>]*\bid="{field}"[^>]*>', page).group()


def test_a_location_form_shows_every_problem_at_once_next_to_its_field(client, admin):
    MajorLocationFactory(name="Leeds")
    db.session.commit()
    before = rows(MajorLocation, MajorLocation.name)

    # The name is refused by the form (missing), the coordinates by the service: all three at once.
    response = client.post("/admin/locations/new", data={"name": "", "latitude": "91", "longitude": "200"})
    assert response.status_code == 422
    page = html(response)
    assert field_errors(page, "name") == ["A name is required."]
    assert field_errors(page, "latitude") == ["Latitude 91.0 is outside -90 to 90."]
    assert field_errors(page, "longitude") == ["Longitude 200.0 is outside -180 to 180."]
    for field in ("name", "latitude", "longitude"):
        tag = input_tag(page, field)
        assert 'aria-invalid="true"' in tag and f"{field}-error" in tag
    assert "3 problems to fix:" in page and '<a href="#latitude">' in page
    assert rows(MajorLocation, MajorLocation.name) == before


def test_service_refusals_are_all_shown_when_the_form_itself_accepts_the_values(client, admin):
    MajorLocationFactory(name="Leeds")
    db.session.commit()
    page = html(client.post("/admin/locations/new", data={"name": "leeds", "latitude": "-91", "longitude": "181"}))
    assert field_errors(page, "name") == ["A location named 'Leeds' already exists."]
    assert field_errors(page, "latitude") and field_errors(page, "longitude")


def test_hint_and_error_are_both_announced_with_the_field(client, admin):
    page = html(client.post("/admin/asset-types/new", data={"name": "x" * 101}))
    tag = input_tag(page, "name")
    assert 'aria-describedby="name-hint name-error"' in tag and 'aria-invalid="true"' in tag
    assert "the limit is 100" in field_errors(page, "name")[0]


# --- technician profile ---------------------------------------------------------------------------

PROFILE = {"hourly_rate": "45", "overtime_multiplier": "1.5", "shift_days": ["1", "2", "3", "4", "5"],
           "shift_start": "07:00", "shift_end": "17:00", "max_concurrent_dispatches": "3", "max_hours_per_week": "40"}


def profile_of(user):
    db.session.expire_all()
    return db.session.query(TechnicianProfile).filter_by(user_id=user.id).one_or_none()


def test_the_rate_label_names_the_currency_and_the_list_shows_shift_days_by_name(app, client, admin):
    app.config["MOTORPOOL_CURRENCY"] = "EUR"
    profile = TechnicianProfileFactory(shift_days="12345", hourly_rate=40)
    TechnicianProfileFactory(shift_days="1357")
    db.session.commit()
    page = html(client.get(f"/admin/technicians/{profile.user_id}/profile"))
    assert "Hourly rate (€)" in page
    listing = html(client.get("/admin/technicians"))
    assert "<td>Mon–Fri " in listing and "<td>Mon, Wed, Fri, Sun " in listing and "€40.00" in listing
    assert "12345" not in listing


def test_shift_days_are_check_boxes_stored_as_iso_digits(client, admin):
    tess = TechnicianFactory()
    page = html(client.get(f"/admin/technicians/{tess.id}/profile"))
    boxes = re.findall(r'<input[^>]*type="checkbox"[^>]*>', page)
    assert len(boxes) == 7 and sum("checked" in box for box in boxes) == 5  # Mon..Fri by default
    assert "<legend>Shift days</legend>" in page and " Mon</label>" in page and " Sun</label>" in page

    response = client.post(f"/admin/technicians/{tess.id}/profile", data={**PROFILE, "shift_days": ["7", "6", "1"]})
    assert response.status_code == 302
    assert profile_of(tess).shift_days == "167"
    page = html(client.get(f"/admin/technicians/{tess.id}/profile"))
    assert sum("checked" in box for box in re.findall(r'<input[^>]*type="checkbox"[^>]*>', page)) == 3


def test_no_shift_day_is_refused_together_with_the_other_problems(client, admin):
    profile = TechnicianProfileFactory(shift_days="12345", hourly_rate=40)
    db.session.commit()
    response = client.post(f"/admin/technicians/{profile.user_id}/profile",
                           data={**{k: v for k, v in PROFILE.items() if k != "shift_days"}, "hourly_rate": "-5",
                                 "max_hours_per_week": "200"})
    assert response.status_code == 422
    page = html(response)
    assert field_errors(page, "shift_days") == ["Choose at least one shift day."]
    assert field_errors(page, "hourly_rate") == ["The hourly rate cannot be negative."]
    assert field_errors(page, "max_hours_per_week") == ["Maximum hours per week must be between 0 and 168."]
    assert 'aria-describedby="shift_days-error"' in page
    assert (profile_of(profile.user).shift_days, profile_of(profile.user).hourly_rate) == ("12345", 40)


def test_home_base_from_a_known_location(client, admin):
    leeds = MajorLocationFactory(name="Leeds depot", address="1 Yard Road, Leeds", latitude=53.79, longitude=-1.54)
    MajorLocationFactory(name="No coordinates", latitude=None, longitude=None)
    tess = TechnicianFactory()
    db.session.commit()
    page = html(client.get(f"/admin/technicians/{tess.id}/profile"))
    assert "Leeds depot — 1 Yard Road, Leeds" in page and "No coordinates" not in page
    assert "<summary>Advanced: latitude and longitude</summary>" in page

    response = client.post(f"/admin/technicians/{tess.id}/profile",
                           data={**PROFILE, "home_location_id": str(leeds.id), "home_latitude": "10"})
    assert response.status_code == 302
    profile = profile_of(tess)
    assert (profile.home_latitude, profile.home_longitude) == (53.79, -1.54)
    page = html(client.get(f"/admin/technicians/{tess.id}/profile"))
    assert re.search(rf'<option selected value="{leeds.id}">|<option value="{leeds.id}" selected>', page)


def test_home_base_from_the_address_of_a_known_location(client, admin):
    MajorLocationFactory(name="York yard", address="2 Station Rd, York", latitude=53.96, longitude=-1.08)
    tess = TechnicianFactory()
    db.session.commit()
    response = client.post(f"/admin/technicians/{tess.id}/profile",
                           data={**PROFILE, "home_address": "  2 station rd,   YORK "})
    assert response.status_code == 302
    assert (profile_of(tess).home_latitude, profile_of(tess).home_longitude) == (53.96, -1.08)


def test_an_unknown_address_is_refused_with_what_to_do(client, admin):
    tess = TechnicianProfileFactory(home_latitude=50.0, home_longitude=0.0).user
    db.session.commit()
    response = client.post(f"/admin/technicians/{tess.id}/profile",
                           data={**PROFILE, "home_address": "10 Downing Street"})
    assert response.status_code == 422
    message = field_errors(html(response), "home_address")[0]
    assert "No known location has the address '10 Downing Street'" in message
    assert "cannot be looked up on a map" in message
    assert (profile_of(tess).home_latitude, profile_of(tess).home_longitude) == (50.0, 0.0)


def test_raw_coordinates_remain_possible(client, admin):
    tess = TechnicianFactory()
    response = client.post(f"/admin/technicians/{tess.id}/profile",
                           data={**PROFILE, "home_latitude": "51.5", "home_longitude": "-0.12"})
    assert response.status_code == 302
    assert (profile_of(tess).home_latitude, profile_of(tess).home_longitude) == (51.5, -0.12)
