"""The alert list, its actions and silences, the navigation count, and the alerting settings pages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Alert, AlertSetting, AlertSilence, AlertThreshold
from app.services import alerting
from app.services.actors import acting_as, system_user
from tests.alert_support import Gauge
from tests.factories import AdminFactory, ManagerFactory, TechnicianFactory
from tests.plugin_support import Plugins

HTMX = {"HX-Request": "true"}


@pytest.fixture
def gauge() -> Gauge:
    return Gauge()


@pytest.fixture
def band() -> Gauge:
    return Gauge(category="fleet_use", direction="outside", unit="%", warning=(50.0, 90.0), critical=(40.0, 95.0))


@pytest.fixture
def app(make_app, monkeypatch, gauge, band):
    plugins = Plugins(monkeypatch)
    plugins.add("gauge", gauge)
    plugins.add("band", band)
    app = make_app(MOTORPOOL_NOTIFIERS="")
    with app.app_context():
        yield app
        db.session.rollback()


def signed_in(app, user):
    client = app.test_client()
    response = client.post("/auth/login", data={"email": user.email, "password": "correct horse battery"})
    assert response.status_code == 302
    return client


def raise_some(gauge):
    gauge.values = {"asset:1": 4.0, "asset:2": 6.0}
    with acting_as(system_user()):
        alerting.run_check()
    return [a.id for a in db.session.scalars(select(Alert).order_by(Alert.id))]


def alert_states():
    db.session.expire_all()
    return [a.state for a in db.session.scalars(select(Alert).order_by(Alert.id))]


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True)).strip()


def test_the_list_shows_open_alerts_with_filters(app, gauge):
    ids = raise_some(gauge)
    client = signed_in(app, ManagerFactory())
    page = text(client.get("/alerts/"))
    assert f'id="alert-{ids[0]}"' in page and f'id="alert-{ids[1]}"' in page
    assert "2 firing, 0 acknowledged (1 critical, 1 warning)" in page
    critical = text(client.get("/alerts/?severity=critical"))
    assert f'id="alert-{ids[1]}"' in critical and f'id="alert-{ids[0]}"' not in critical
    fragment = client.get("/alerts/?category=fleet_use", headers=HTMX)
    assert "<h1>" not in text(fragment) and "No open alerts match these filters." in text(fragment)
    assert "HX-Request" in fragment.headers["Vary"]


def test_an_unknown_filter_is_refused_with_the_choices(app):
    client = signed_in(app, ManagerFactory())
    response = client.get("/alerts/?severity=loud")
    assert response.status_code == 400
    assert "Severity must be one of info, warning, critical, not &#39;loud&#39;" in text(response)


def test_acknowledge_in_place_with_htmx_then_resolve_without_it(app, gauge):
    ids = raise_some(gauge)
    manager = ManagerFactory(name="Mia Manager")
    client = signed_in(app, manager)
    response = client.post(f"/alerts/{ids[0]}/acknowledge", headers=HTMX)
    assert response.status_code == 200
    row = text(response)
    assert row.startswith(f'<tr id="alert-{ids[0]}"') and "Acknowledged" in row and "by Mia Manager" in row
    assert alert_states() == ["acknowledged", "firing"]
    again = client.post(f"/alerts/{ids[0]}/acknowledge", headers=HTMX)
    assert again.status_code == 400 and "already acknowledged by Mia Manager" in text(again)
    response = client.post(f"/alerts/{ids[1]}/resolve", data={"note": "fixed"})
    assert response.status_code == 302
    assert alert_states() == ["acknowledged", "resolved"]
    assert "Alert #" in text(client.get("/alerts/?state=resolved"))


def test_actions_need_the_csrf_token(make_app, monkeypatch, gauge):
    Plugins(monkeypatch).add("gauge", gauge)
    app = make_app(MOTORPOOL_NOTIFIERS="", WTF_CSRF_ENABLED=True)
    with app.app_context():
        ids = raise_some(gauge)
        manager = ManagerFactory()
        client = app.test_client()
        page = client.get("/auth/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        client.post("/auth/login", data={"email": manager.email, "password": "correct horse battery",
                                         "csrf_token": token})
        response = client.post(f"/alerts/{ids[0]}/acknowledge", headers=HTMX)
        assert response.status_code == 400 and "Reload the page" in text(response)
        assert alert_states() == ["firing", "firing"]
        page = client.get("/alerts/").get_data(as_text=True)
        token = re.search(rf'action="/alerts/{ids[0]}/acknowledge".*?name="csrf_token" value="([^"]+)"', page,
                          re.S).group(1)
        response = client.post(f"/alerts/{ids[0]}/acknowledge", data={"csrf_token": token}, headers=HTMX)
        assert response.status_code == 200 and alert_states() == ["acknowledged", "firing"]


def test_silence_refused_says_why_next_to_the_field_and_changes_nothing(app):
    client = signed_in(app, ManagerFactory())
    response = client.post("/alerts/silences", data={"category": "tyre_pressure", "minutes": "0", "reason": ""},
                           headers=HTMX)
    assert response.status_code == 422
    body = text(response)
    assert body.startswith('<section id="alert-silences"')
    assert "2 problems to fix" in body and "from 1 to 43200 minutes" in body and "Say why" in body
    assert 'aria-invalid="true"' in body
    assert db.session.scalar(select(func.count(AlertSilence.id))) == 0
    page = client.post("/alerts/silences", data={"category": "nope", "minutes": "5", "reason": "x"})
    assert page.status_code == 422 and "no alert category &#39;nope&#39;" in text(page)


def test_silence_then_lift_in_place(app):
    client = signed_in(app, ManagerFactory())
    response = client.post("/alerts/silences", data={"category": "tyre_pressure", "minutes": "30",
                                                     "reason": "supplier on site"}, headers=HTMX)
    assert response.status_code == 200 and "supplier on site" in text(response)
    [row] = alerting.active_silences()
    response = client.post(f"/alerts/silences/{row.id}/lift", headers=HTMX)
    assert response.status_code == 200 and "No active silences." in text(response)
    assert alerting.active_silences() == []


def test_the_navigation_counts_firing_alerts_for_managers_and_admins_only(app, gauge):
    ids = raise_some(gauge)
    manager_page = text(signed_in(app, ManagerFactory()).get("/"))
    assert re.search(r'href="/alerts/"[^>]*>.*?<span>Alerts</span> <span class="nav-count">2<span class="visually-hidden"> '
                     r'firing</span>', manager_page)
    with acting_as(system_user()):
        alerting.acknowledge(ids[0], system_user())
    assert '<span class="nav-count">1<' in text(signed_in(app, AdminFactory()).get("/"))
    technician_page = text(signed_in(app, TechnicianFactory()).get("/"))
    assert "/alerts/" not in technician_page and "nav-count" not in technician_page
    assert signed_in(app, TechnicianFactory()).get("/alerts/").status_code == 403


def test_settings_page_lists_every_check_and_saves_valid_settings(app):
    admin = AdminFactory(name="Ada Admin")
    client = signed_in(app, admin)
    page = text(client.get("/alerts/settings"))
    for label in ("Tyre pressure", "Fleet use", "Fallback routing"):
        assert label in page
    assert "50.0%–90.0%" in page
    response = client.post("/alerts/settings", data={"quiet_hours_start": "22:00", "quiet_hours_end": "06:00",
                                                     "suppression_minutes": "15", "escalation_minutes": "45"})
    assert response.status_code == 302
    saved = alerting.current_settings()
    assert (saved.quiet_hours, saved.suppression_minutes, saved.escalation_minutes, saved.updated_by) == (
        ("22:00", "06:00"), 15, 45, "Ada Admin")


def test_refused_settings_say_why_next_to_each_field_and_change_nothing(app):
    client = signed_in(app, AdminFactory())
    response = client.post("/alerts/settings", data={"quiet_hours_start": "25:99", "quiet_hours_end": "06:00",
                                                     "suppression_minutes": "-3", "escalation_minutes": "soon"})
    assert response.status_code == 422
    body = text(response)
    assert "3 problems to fix" in body
    assert 'id="quiet_hours_start-error">Quiet hours start must be a time written HH:MM' in body
    assert 'id="suppression_minutes-error">The suppression window must be from 0 to 1440 minutes, not -3.' in body
    assert "escalation time must be a whole number of minutes" in body
    assert 'value="25:99"' in body  # what was typed is kept
    assert db.session.scalar(select(func.count(AlertSetting.id))) == 0


def test_thresholds_of_a_plugin_check_and_of_the_fallback_alert_are_edited_and_validated(app):
    client = signed_in(app, AdminFactory(name="Ada Admin"))
    form = text(client.get("/alerts/thresholds/tyre_pressure"))
    assert 'value="3"' in form and 'value="5"' in form
    refused = client.post("/alerts/thresholds/tyre_pressure", data={"warning": "9", "critical": "4"})
    assert refused.status_code == 422
    assert "critical threshold (4) must be higher than the warning one (9)" in text(refused)
    assert db.session.scalar(select(func.count(AlertThreshold.id))) == 0
    assert client.post("/alerts/thresholds/fallback_routing", data={"warning": "1", "critical": "4"}).status_code == 302
    assert "Ada Admin" in text(client.get("/alerts/settings"))
    refused = client.post("/alerts/thresholds/fleet_use", data={"warning_low": "50", "warning_high": "90",
                                                               "critical_low": "60", "critical_high": "95"})
    assert refused.status_code == 422 and "must be wider than the warning band" in text(refused)
    ok = client.post("/alerts/thresholds/fleet_use", data={"warning_low": "45", "warning_high": "90",
                                                          "critical_low": "30", "critical_high": "99"})
    assert ok.status_code == 302
    db.session.expire_all()
    row = db.session.scalar(select(AlertThreshold).where(AlertThreshold.category == "fleet_use"))
    assert (row.warning, row.warning_high, row.critical, row.critical_high) == (45, 90, 30, 99)
    assert client.get("/alerts/thresholds/nope").status_code == 404
