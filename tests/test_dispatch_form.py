"""Creating a dispatch from the web form."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import AllDispatchDetail, Dispatch, Event, utcnow
from tests.factories import AssetFactory, ManagerFactory, TechnicianFactory, configured_truck_type


def _count(session, model):
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def truck(app):
    return AssetFactory(asset_tag="TRK-0007", asset_type=configured_truck_type())


def _valid(truck, **overrides):
    data = {"asset_id": str(truck.id), "title": "Pre-trip inspection", "priority": "High",
            "description": "Before the Leeds run", "due_date": "", "required_skill": "",
            "estimated_duration_hours": ""}
    return {**data, **overrides}


def test_manager_creates_a_dispatch_with_its_checklist(app, session, client, auth, truck):
    manager = ManagerFactory()
    auth.login(manager)
    assert b"TRK-0007" in client.get("/dispatches/new").data

    due = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post("/dispatches/new", data=_valid(truck, due_date=due))

    dispatch = session.scalar(select(Dispatch))
    # the new dispatch's page comes next (303: see it with a GET)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/dispatches/{dispatch.id}")
    assert (dispatch.title, dispatch.priority, dispatch.created_by_id) == ("Pre-trip inspection", "High", manager.id)
    assert dispatch.due_date.strftime("%Y-%m-%dT%H:%M") == due
    assert [d.table_name for d in dispatch.all_details] == ["truck_dispatch_checklists"]
    page = client.get(response.headers["Location"]).data.decode()
    assert f"Created {dispatch.dispatch_number} with 1 checklist(s)." in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "Say in a few words what is to be done."),
        ({"asset_id": "0"}, "Choose the asset to work on."),
        ({"priority": "Urgent"}, "Not a valid choice"),
        ({"estimated_duration_hours": "0"}, "Estimated hours must be from 0.1 to 1000, not 0."),
        ({"due_date": "2020-01-01T10:00"}, "is before the dispatch is created"),
        ({"due_date": "tomorrow"}, "Not a valid datetime value"),
    ],
)
def test_refused_input_is_shown_next_to_the_field_and_nothing_is_written(
    app, session, client, auth, truck, overrides, message
):
    auth.login(ManagerFactory())
    response = client.post("/dispatches/new", data=_valid(truck, **overrides))

    assert response.status_code == 422
    page = response.data.decode()
    assert message in page
    assert 'role="alert"' in page
    assert "Before the Leeds run" in page  # what was typed is kept
    assert (_count(session, Dispatch), _count(session, AllDispatchDetail), _count(session, Event)) == (0, 0, 0)


def test_technicians_cannot_open_the_form(app, client, auth, truck):
    auth.login(TechnicianFactory())
    assert client.get("/dispatches/new").status_code == 403
    assert client.post("/dispatches/new", data=_valid(truck)).status_code == 403


def test_the_form_refuses_a_post_without_csrf_token(make_app, session):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        truck = AssetFactory(asset_type=configured_truck_type())
        manager = ManagerFactory()
        asset_id, email = truck.id, manager.email
    client = app.test_client()
    with app.app_context():
        login_page = client.get("/auth/login").data.decode()
    token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"email": email, "password": "correct horse battery", "csrf_token": token})
    response = client.post("/dispatches/new", data={"asset_id": str(asset_id), "title": "x", "priority": "Normal"})
    assert response.status_code == 400
    with app.app_context():
        from app.extensions import db

        assert db.session.scalar(select(func.count()).select_from(Dispatch)) == 0
