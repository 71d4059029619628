"""Input that used to crash or mislead: numbers in odd spellings, control characters,
over-long text, far-off dates, huge bodies, unsafe ``next=``; and the response headers.

Path ids are checked on every route of the URL map that takes an ``<int:…>``, so a new
route is covered the day it is added.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app.blueprints.security import safe_path
from app.extensions import db
from app.models import Asset, Dispatch, TechnicianProfile, utcnow
from app.services import text as text_rules
from app.services.dispatches import create_dispatch
from app.services.errors import ValidationError
from app.services.numbers import DB_INT_MAX, canonical_int, parse_decimal
from tests.factories import (
    AdminFactory,
    AssetFactory,
    DispatchFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
)

#: Spellings of a number that Python's int()/float() or str.isdigit() accept, and no person means.
HOSTILE_NUMBERS = [
    "٣",  # Arabic-Indic three
    "३",  # Devanagari three
    "໓",  # Lao three
    "３",  # fullwidth three
    "²",  # superscript two: isdigit() but not int()
    "01", "007",  # leading zeros
    "+1", "-1", "-0",  # signs
    " 1", "1 ", "1\u00a0",  # spaces
    "1.0", "1e3", "0x1", "1_0", "1,0",
    "2147483648", "99999999999999999999",  # beyond INTEGER
    "abc",
]
SENTINEL = 1234567


def html(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def admin_client(app, client):
    admin = AdminFactory()
    client.post("/auth/login", data={"email": admin.email, "password": "correct horse battery"})
    return client


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if converter.__class__.__name__ == "DatabaseIdConverter":
                yield rule, name


def _url_with(app, rule, name: str, value: str) -> str:
    values = {}
    for other, converter in rule._converters.items():
        if other == name:
            values[other] = SENTINEL
        elif converter.__class__.__name__ == "DatabaseIdConverter":
            values[other] = 1
        elif hasattr(converter, "items"):  # any(...)
            values[other] = sorted(converter.items)[0]
        else:
            values[other] = "x"
    with app.test_request_context():
        url = app.url_map.bind("localhost").build(rule.endpoint, values, method=sorted(rule.methods)[0])
    return url.replace(f"/{SENTINEL}", "/" + quote(value, safe=""), 1)


# --- the rule itself -----------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE_NUMBERS)
def test_no_odd_spelling_is_a_number(text):
    assert canonical_int(text, 0, DB_INT_MAX) is None
    if text not in ("-1", "-0", "1.0", "2147483648", "99999999999999999999"):
        with pytest.raises(ValidationError, match="digits 0–9"):
            parse_decimal(text, label="Odometer")


def test_canonical_numbers_are_read():
    assert canonical_int("1") == 1 and canonical_int(str(DB_INT_MAX)) == DB_INT_MAX
    assert canonical_int("0", 0) == 0 and canonical_int("0") is None
    assert parse_decimal("-12.5", label="x") == -12.5 and parse_decimal(".5", label="x") == 0.5


# --- ids in paths: every <int:…> route --------------------------------------------------------


def test_every_id_route_is_covered(app):
    routes = list(_id_routes(app))
    assert len(routes) >= 20  # the dispatch, checklist and admin pages; plugins' too


@pytest.mark.parametrize("value", [*HOSTILE_NUMBERS, str(DB_INT_MAX)])
def test_an_id_in_a_path_is_canonical_or_not_found(app, admin_client, value):
    """Any other spelling is 404 for every method the route takes (POST included: not 405)."""
    for rule, name in _id_routes(app):
        url = _url_with(app, rule, name, value)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = admin_client.open(url, method=method)
            # The API reads a change's body before the record it names (an empty one is a 422);
            # a well-spelt id of a missing record with a valid body is its 404 (test_api_*).
            allowed = {404, 422} if url.startswith("/api/") and method in ("POST", "PUT", "PATCH") else {404}
            assert response.status_code in allowed, (method, url, response.status_code)


def test_leading_zeros_do_not_open_a_record(app, admin_client):
    dispatch = DispatchFactory()
    assert admin_client.get(f"/dispatches/{dispatch.id}").status_code == 200
    assert admin_client.get(f"/dispatches/0{dispatch.id}").status_code == 404
    assert admin_client.post(f"/dispatches/0{dispatch.id}/status", data={"status": "Cancelled"}).status_code == 404
    assert db.session.get(Dispatch, dispatch.id).status == "Created"


# --- numbers in query strings ------------------------------------------------------------------

QUERY_NUMBERS = [
    ("/dispatches/", "page"), ("/dispatches/", "asset_type"), ("/dispatches/", "technician"),
    ("/admin/assets", "page"), ("/admin/assets", "asset_type_id"), ("/dispatches/new/assets", "asset_id"),
]


@pytest.mark.parametrize(("path", "name"), QUERY_NUMBERS)
def test_a_malformed_number_in_a_query_is_a_400_that_says_which(admin_client, path, name):
    for value in HOSTILE_NUMBERS:
        response = admin_client.get(f"{path}?{name}={quote(value)}")
        assert response.status_code == 400, (path, name, value, response.status_code)
        assert re.search(rf"{name}\W.*must be a whole number|must be a whole number", html(response))
    assert admin_client.get(f"{path}?{name}=1").status_code == 200


# --- numbers in forms --------------------------------------------------------------------------


def test_a_malformed_number_in_the_work_order_form_is_refused_next_to_the_field(admin_client):
    asset = AssetFactory()
    good = {"asset_id": str(asset.id), "title": "Check brakes", "priority": "Normal", "work_type": "operation"}
    for field, values in (("asset_id", HOSTILE_NUMBERS), ("estimated_duration_hours", ["٣", "²", "1e3", "inf", "nan"])):
        for value in values:
            response = admin_client.post("/dispatches/new", data={**good, field: value})
            assert response.status_code == 422, (field, value)
            assert 'role="alert"' in html(response)
    assert db.session.scalar(select(func.count(Dispatch.id))) == 0


def test_malformed_ids_in_bulk_and_assign_forms_change_nothing(admin_client):
    dispatch = DispatchFactory()
    technician = TechnicianProfileFactory().user
    for value in HOSTILE_NUMBERS:
        response = admin_client.post("/dispatches/bulk-status", data={"dispatch_ids": value, "status": "Cancelled"})
        assert response.status_code in (303, 422)
        response = admin_client.post(f"/dispatches/{dispatch.id}/assign", data={"technician_id": value})
        assert response.status_code == 422 and "whole number" in html(response), value
    db.session.expire_all()
    assert db.session.get(Dispatch, dispatch.id).status == "Created"
    assert db.session.get(Dispatch, dispatch.id).assigned_user_id is None
    assert technician.id


def test_a_malformed_number_in_the_technician_profile_is_refused(admin_client):
    profile = TechnicianProfileFactory()
    before = profile.max_concurrent_dispatches
    data = {"hourly_rate": "30", "overtime_multiplier": "1.5", "shift_days": list("12345"), "shift_start": "08:00",
            "shift_end": "16:00", "max_hours_per_week": "40"}
    for value in ["٣", "²", "03", "+3", "99999999999999999999"]:
        response = admin_client.post(f"/admin/technicians/{profile.user_id}/profile",
                                     data={**data, "max_concurrent_dispatches": value})
        assert response.status_code == 422 and "whole number" in html(response), value
    db.session.expire_all()
    assert db.session.get(TechnicianProfile, profile.id).max_concurrent_dispatches == before


# --- text: control characters and lengths, the same on both databases ------------------------


@pytest.mark.parametrize("character", ["\x00", "\x07", "\x1b", "\x7f"])
def test_a_control_character_anywhere_in_a_request_is_refused_and_named(admin_client, character):
    asset = AssetFactory()
    response = admin_client.post("/dispatches/new", data={
        "asset_id": str(asset.id), "title": f"Brake{character}s", "priority": "Normal", "work_type": "operation"})
    assert response.status_code == 400
    assert "form field title contains" in html(response) and f"U+{ord(character):04X}" in html(response)
    response = admin_client.get(f"/dispatches/?q=a{quote(character)}b")
    assert response.status_code == 400 and "query parameter q contains" in html(response)
    assert db.session.scalar(select(func.count(Dispatch.id))) == 0


def test_a_nul_character_written_by_code_is_refused_the_same_on_both_databases(app, system_actor):
    asset = AssetFactory()
    with pytest.raises(ValidationError, match="NUL character"):
        create_dispatch(title="Brakes", description="worn\x00pads", asset_id=asset.id)
    db.session.rollback()
    asset = db.session.get(Asset, asset.id)
    asset.name = "Truck\x00"
    with pytest.raises(ValidationError, match=r"Name contains a NUL character \(U\+0000\)"):
        db.session.flush()
    db.session.rollback()
    assert db.session.scalar(select(func.count(Dispatch.id))) == 0


def test_a_line_break_is_refused_in_a_single_line_field_and_kept_in_a_long_text(app, system_actor):
    asset = AssetFactory()
    with pytest.raises(ValidationError, match="line break"):
        create_dispatch(title="Brakes\nand lights", asset_id=asset.id)
    db.session.rollback()
    dispatch = create_dispatch(title="Brakes", description="Front pads.\n\tRear drums.", asset_id=asset.id)
    assert dispatch.description == "Front pads.\n\tRear drums."


def test_over_long_text_is_refused_with_the_limit_never_cut(admin_client):
    asset = AssetFactory()
    good = {"asset_id": str(asset.id), "title": "Check brakes", "priority": "Normal", "work_type": "operation"}
    response = admin_client.post("/dispatches/new", data={**good, "title": "x" * 10_000})
    assert response.status_code == 422 and "Title is 10000 characters long; the limit is 200." in html(response)
    response = admin_client.post("/dispatches/new", data={**good, "description": "y" * 5001})
    assert response.status_code == 422 and "the limit is 5000" in html(response)
    assert db.session.scalar(select(func.count(Dispatch.id))) == 0
    form = html(admin_client.get("/dispatches/new"))
    assert "Up to 200 characters." in form and "Up to 5000 characters." in form
    assert "maxlength" not in form  # a browser would cut pasted text to it without a word


def test_the_database_limit_holds_for_plain_orm_code(app, system_actor):
    asset = AssetFactory()
    asset.asset_tag = "T" * 51
    with pytest.raises(ValidationError, match="Asset tag is 51 characters long; the limit is 50"):
        db.session.flush()
    db.session.rollback()
    assert text_rules.column_limit(text_rules.column_of(Dispatch, "description")) == text_rules.TEXT_MAX


def test_a_due_date_beyond_the_horizon_is_refused(admin_client):
    asset = AssetFactory()
    good = {"asset_id": str(asset.id), "title": "Check brakes", "priority": "Normal", "work_type": "operation"}
    response = admin_client.post("/dispatches/new", data={**good, "due_date": "9999-01-01T00:00"})
    assert response.status_code == 422 and "more than 5 years ahead" in html(response)
    assert admin_client.post("/dispatches/new/preview", data={**good, "due_date": "9999-12-31T23:59"}).status_code == 200
    assert db.session.scalar(select(func.count(Dispatch.id))) == 0
    soon = (utcnow() + timedelta(days=365 * 4)).strftime("%Y-%m-%dT%H:%M")
    assert admin_client.post("/dispatches/new", data={**good, "due_date": soon}).status_code == 303


# --- bodies ----------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_with_a_message(app, admin_client):
    big = {"title": "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)}
    response = admin_client.post("/dispatches/new", data=big)
    assert response.status_code == 413 and "larger than the 512 KB a form may be" in html(response)
    assert "<html" in html(response)
    response = admin_client.post("/dispatches/new", data=big, headers={"HX-Request": "true"})
    assert response.status_code == 413 and "<html" not in html(response) and "512 KB" in html(response)


# --- next= -----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [
    "//evil.example", "/\\evil.example", "https://evil.example/", "/dispatches/\r\nSet-Cookie: x=1",
    "/a\nb", "/a b", "/a\tb", "javascript:alert(1)", "evil.example", "", "/\x00", "\\",
])
def test_an_unsafe_next_is_not_followed(target):
    assert safe_path(target) is None


def test_a_plain_path_is_followed():
    assert safe_path("/dispatches/?page=2&status=Created") == "/dispatches/?page=2&status=Created"


def test_sign_in_with_a_control_character_in_next_goes_home(app, client):
    user = TechnicianFactory()
    response = client.post("/auth/login?next=/dispatches/%0d%0aX-Evil:%201",
                           data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "X-Evil" not in response.headers


# --- headers ---------------------------------------------------------------------------------


def test_pages_are_not_stored_and_static_files_are_versioned(app, admin_client):
    page = admin_client.get("/dispatches/")
    assert page.headers["Cache-Control"] == "no-store"
    assert admin_client.get("/dispatches/", headers={"HX-Request": "true"}).headers["Cache-Control"] == "no-store"
    assert "Permissions-Policy" in page.headers and "geolocation=()" in page.headers["Permissions-Policy"]
    assert "Server" not in page.headers
    assert "Strict-Transport-Security" not in page.headers
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', html(page))
    # A fragment after the version names one icon of the versioned sprite.
    assert links and all(re.search(r"\?v=[0-9a-f]{12}(#[a-z0-9-]+)?$", link) for link in links), links
    for link in links:
        response = admin_client.get(link)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        response.close()
    unversioned = admin_client.get("/static/css/app.css")
    assert "immutable" not in unversioned.headers.get("Cache-Control", "")
    unversioned.close()


def test_hsts_when_served_over_https(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)
    response = app.test_client().get("/auth/login")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_favicon_is_served(app, client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data
    response.close()
    assert 'rel="icon"' in html(client.get("/auth/login"))


@pytest.mark.parametrize("reading", ["٣", "²", "1_000", "３", "0x10"])
def test_a_checklist_reading_is_written_with_ascii_digits(reading):
    from app.checklists.fields import ChecklistField, FieldKind

    for kind in (FieldKind.NUMBER, FieldKind.INTEGER):
        with pytest.raises(ValidationError, match="digits 0–9"):
            ChecklistField("odometer", "Odometer", kind).parse(reading)
    assert ChecklistField("odometer", "Odometer", FieldKind.NUMBER).parse("12.5") == 12.5
