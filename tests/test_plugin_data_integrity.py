"""Checklist rows whose plugin is disabled stay known: shown read-only, and they block completion.

The example plugin ``motorpool-trailers`` (installed in the virtualenv) provides the
trailer inspection. Dispatches are made while it is loaded, then looked at through an
application started with ``MOTORPOOL_DISABLED_PLUGINS=trailers``.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, text

from app import create_app
from app.extensions import db
from app.models import AllDispatchDetail, Dispatch, DispatchStatusHistory, TruckDispatchChecklist, User, utcnow
from app.services import checklists
from app.services import dispatches as dispatch_service
from app.services.actors import acting_as, system_user
from app.services.detail_sets import add_type_to_asset_type
from app.services.errors import ValidationError
from app.services.queries import checklist_progress
from tests.checklist_support import fill_required
from tests.conftest import AuthActions, base_config
from tests.factories import AssetFactory, ManagerFactory, SkillFactory, TechnicianFactory, configured_truck_type

TRAILER_TYPE = "trailer_inspection"


@contextmanager
def inside(app):
    with app.app_context():
        try:
            user = system_user()
            db.session.commit()
            with acting_as(user):
                yield user
        finally:
            db.session.remove()


def _in_progress_with_trailer(asset_type, technician: User, *, sign_trailer: bool) -> int:
    """A dispatch In Progress with a signed truck checklist and a trailer inspection."""
    asset = AssetFactory(asset_type=asset_type)
    dispatch = dispatch_service.create_dispatch(title="Couple and go", asset_id=asset.id)
    dispatch_service.assign(dispatch, technician)
    dispatch_service.change_status(dispatch, "In Progress")
    for row in checklists.details_of([dispatch.id])[dispatch.id]:
        if isinstance(row, TruckDispatchChecklist) or sign_trailer:
            checklists.sign_off(fill_required(row, technician), technician)
    return dispatch.id


@pytest.fixture
def made_with_trailers(make_app):
    """(dispatch id with an unsigned trailer inspection, one with it signed, technician id, manager id)."""
    with inside(make_app()):
        technician, manager = TechnicianFactory(), ManagerFactory()
        asset_type = configured_truck_type("Tractor unit")
        add_type_to_asset_type(asset_type, TRAILER_TYPE)
        unsigned = _in_progress_with_trailer(asset_type, technician, sign_trailer=False)
        signed = _in_progress_with_trailer(asset_type, technician, sign_trailer=True)
        return unsigned, signed, technician.id, manager.id


@pytest.fixture
def without_trailers(make_app):
    return make_app(MOTORPOOL_DISABLED_PLUGINS="trailers")


def _trailer_master(dispatch_id: int) -> AllDispatchDetail:
    return db.session.scalar(select(AllDispatchDetail).where(
        AllDispatchDetail.dispatch_id == dispatch_id, AllDispatchDetail.table_name == "trailer_inspections"))


def test_master_rows_carry_label_and_sign_off_of_every_row(make_app, made_with_trailers):
    unsigned, signed, technician_id, _ = made_with_trailers
    with inside(make_app()):
        masters = db.session.scalars(select(AllDispatchDetail).where(AllDispatchDetail.dispatch_id == signed)).all()
        assert sorted(m.label for m in masters) == ["Trailer inspection", "Truck dispatch checklist"]
        assert all(m.signed_off_at is not None and m.signed_off_by_id == technician_id for m in masters)
        assert _trailer_master(unsigned).signed_off_at is None


def test_completion_is_refused_while_a_checklist_of_a_disabled_plugin_is_unsigned(
        without_trailers, made_with_trailers):
    unsigned, _, _, _ = made_with_trailers
    with inside(without_trailers):
        dispatch = db.session.get(Dispatch, unsigned)
        history_before = db.session.scalar(select(func.count()).select_from(DispatchStatusHistory))
        with pytest.raises(ValidationError) as refused:
            dispatch_service.change_status(dispatch, "Completed")
        assert "Trailer inspection (its plugin is not loaded)" in refused.value.message
        assert "not signed off" in refused.value.message
        db.session.rollback()
        db.session.expire_all()
        assert db.session.get(Dispatch, unsigned).status == "In Progress"
        assert db.session.scalar(select(func.count()).select_from(DispatchStatusHistory)) == history_before


def test_completion_is_allowed_when_the_disabled_plugin_s_checklist_was_signed(without_trailers, made_with_trailers):
    _, signed, _, _ = made_with_trailers
    with inside(without_trailers):
        dispatch = dispatch_service.change_status(db.session.get(Dispatch, signed), "Completed")
        assert dispatch.status == "Completed"


def test_progress_counts_rows_of_a_disabled_plugin(without_trailers, made_with_trailers):
    unsigned, signed, _, _ = made_with_trailers
    with inside(without_trailers):
        progress = checklist_progress([unsigned, signed])
        assert (progress[unsigned].signed, progress[unsigned].total) == (1, 2)
        assert (progress[signed].signed, progress[signed].total) == (2, 2)


def _client_as(app, user_id: int):
    client = app.test_client()
    with app.app_context():
        user = db.session.get(User, user_id)
        response = AuthActions(client).login(user)
        assert response.status_code in (302, 303), response.status_code
    return client


def test_dispatch_page_shows_a_disabled_plugin_s_checklist_read_only(without_trailers, made_with_trailers):
    unsigned, _, _, manager_id = made_with_trailers
    client = _client_as(without_trailers, manager_id)
    page = client.get(f"/dispatches/{unsigned}").get_data(as_text=True)
    assert "No checklists" not in page
    assert "Truck dispatch checklist" in page
    assert "Trailer inspection" in page and "its plugin is not loaded" in page
    assert "Not signed off" in page


def test_checklist_page_of_a_disabled_plugin_explains_instead_of_404(without_trailers, made_with_trailers):
    unsigned, _, technician_id, manager_id = made_with_trailers
    with without_trailers.app_context():
        detail_id = _trailer_master(unsigned).id
    for user_id in (manager_id, technician_id):
        response = _client_as(without_trailers, user_id).get(f"/checklists/{detail_id}")
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Trailer inspection" in page and "is not loaded" in page and "trailer_inspections" in page
        assert "Sign off" not in page and "<form method=\"post\" action=\"/checklists" not in page

    with without_trailers.app_context():
        other = TechnicianFactory()
        other_id = other.id
    assert _client_as(without_trailers, other_id).get(f"/checklists/{detail_id}").status_code == 404


def test_checklist_of_a_disabled_plugin_cannot_be_answered_or_signed_off(without_trailers, made_with_trailers):
    unsigned, _, technician_id, _ = made_with_trailers
    with without_trailers.app_context():
        detail_id = _trailer_master(unsigned).id
    client = _client_as(without_trailers, technician_id)
    for url in (f"/checklists/{detail_id}/sign-off", f"/checklists/{detail_id}",
                f"/checklists/{detail_id}/items/coupling_checked"):
        response = client.post(url, data={"coupling_checked": "true", "coupling_checked__seen": ""})
        assert response.status_code == 409, url
        assert "is not loaded" in response.get_data(as_text=True)
    with without_trailers.app_context():
        assert _trailer_master(unsigned).signed_off_at is None


def test_a_sign_off_written_through_the_orm_reaches_the_master_row(make_app, made_with_trailers):
    unsigned, _, technician_id, _ = made_with_trailers
    with inside(make_app()):
        from motorpool_trailers.models import TrailerInspection

        row = db.session.scalar(select(TrailerInspection).where(TrailerInspection.dispatch_id == unsigned))
        row.completed_by_id, row.completed_date = technician_id, utcnow()
        db.session.commit()
        db.session.expire_all()
        master = _trailer_master(unsigned)
        assert master.signed_off_by_id == technician_id and master.signed_off_at is not None
        assert checklists.unsigned_checklists(db.session.get(Dispatch, unsigned)) == []


# --- Migration 0005 fills the master rows from the detail tables that exist ------------------


@pytest.fixture
def fresh_database_url(backend, request, tmp_path) -> str:
    if backend == "sqlite":
        return "sqlite:///" + str(tmp_path / "fresh.db")
    return request.getfixturevalue("postgres_server").create_database(f"motorpool_masters_{uuid.uuid4().hex[:12]}")


def test_migration_backfills_label_and_sign_off_of_master_rows(fresh_database_url):
    from flask_migrate import downgrade, upgrade

    app = create_app(base_config(fresh_database_url))
    try:
        with app.app_context():
            upgrade(revision="heads")
            technician = TechnicianFactory()
            with acting_as(system_user()):
                asset_type = configured_truck_type("Tractor unit")
                add_type_to_asset_type(asset_type, TRAILER_TYPE)
                SkillFactory(name="Refrigeration")
                dispatch_id = _in_progress_with_trailer(asset_type, technician, sign_trailer=False)
            truck = db.session.scalar(select(TruckDispatchChecklist).where(
                TruckDispatchChecklist.dispatch_id == dispatch_id))
            signed_at, technician_id = truck.completed_date, technician.id
            db.session.remove()

            downgrade(revision="0004_auth")  # as before 0005: no label or sign-off on master rows
            with db.engine.begin() as connection:
                connection.execute(text("UPDATE dispatches SET required_skill = 'REFRIGERATION' WHERE id = :id"),
                                   {"id": dispatch_id})
            upgrade(revision="heads")

            rows = {m.table_name: m for m in db.session.scalars(
                select(AllDispatchDetail).where(AllDispatchDetail.dispatch_id == dispatch_id))}
            truck_master, trailer_master = rows["truck_dispatch_checklists"], rows["trailer_inspections"]
            assert (truck_master.label, truck_master.signed_off_by_id) == ("Truck dispatch checklist", technician_id)
            assert truck_master.signed_off_at == signed_at
            assert (trailer_master.label, trailer_master.signed_off_at) == ("Trailer inspection", None)
            assert db.session.get(Dispatch, dispatch_id).required_skill == "Refrigeration"
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_migration_refuses_names_that_differ_only_by_case_and_lists_them(fresh_database_url, capfd):
    from flask_migrate import downgrade, upgrade

    app = create_app(base_config(fresh_database_url))
    try:
        with app.app_context():
            upgrade(revision="heads")
            downgrade(revision="0004_auth")  # as before 0005
            with db.engine.begin() as connection:
                for name in ("Diesel", "DIESEL", "Welding"):
                    connection.execute(text(
                        "INSERT INTO skills (name, category, created_at, updated_at) VALUES (:n, 'Mechanical', "
                        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"n": name})
                revision = connection.scalar(text("SELECT version_num FROM alembic_version "
                                                  "WHERE version_num NOT LIKE 'trailers%'"))
            with pytest.raises(SystemExit):  # flask db upgrade exits 1 with the message
                upgrade(revision="heads")
            message = capfd.readouterr().err
            assert "differ only by case" in message and "skills: 'Diesel', 'DIESEL'" in message
            assert "Welding" not in message
            with db.engine.connect() as connection:
                assert connection.scalar(text("SELECT version_num FROM alembic_version "
                                              "WHERE version_num NOT LIKE 'trailers%'")) == revision
                assert connection.scalar(text("SELECT count(*) FROM skills")) == 3
    finally:
        with app.app_context():
            db.engine.dispose()
