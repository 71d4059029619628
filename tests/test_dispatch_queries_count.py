"""The dispatch pages issue the same number of SQL statements whatever the number of rows they show."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.services.actors import acting_as
from app.services import dispatches
from tests.dispatch_pages_support import counting_queries, html, login, make_dispatch
from tests.factories import (
    AssetFactory,
    DispatchStatusHistoryFactory,
    ManagerFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
    TruckDispatchChecklistFactory,
    configured_truck_type,
)


@pytest.fixture
def manager(app):
    return ManagerFactory()


def add_listed(count: int, manager) -> None:
    """Dispatches each with its own asset, type and (every other one) technician: lazy loads would show."""
    for n in range(count):
        if n % 2:
            make_dispatch(f"Job counted {n}", "Assigned", TechnicianFactory(), by=manager)
        else:
            make_dispatch(f"Job counted {n}")


@pytest.mark.parametrize("query", ["", "?status=Assigned&sort=technician", "?q=counted&sort=asset&due=7d",
                                   "?priority=Normal&sort=-priority&page=2"])
def test_list_page(make_app, query):
    app = make_app(DISPATCHES_PER_PAGE=10)
    with app.app_context():
        manager = ManagerFactory()
        client = app.test_client()
        login(client, manager)
        add_listed(5, manager)
        with counting_queries() as few:
            small = client.get("/dispatches/" + query)
        assert small.status_code == 200
        add_listed(30, manager)
        with counting_queries() as many:
            large = client.get("/dispatches/" + query)
        assert large.status_code == 200
        assert len(re.findall(r"Job counted", html(large))) > len(re.findall(r"Job counted", html(small)))
        assert len(many) == len(few), "\n".join(many)
        with counting_queries() as fragment:
            assert client.get("/dispatches/" + query, headers={"HX-Request": "true"}).status_code == 200
        assert len(fragment) <= len(many)
        db.session.remove()


def busy_dispatch(manager, technician, truck_type, checklists: int, history: int):
    """An assigned dispatch with ``checklists`` checklist rows and about ``history`` history rows."""
    dispatch = make_dispatch("Job shown", asset=AssetFactory(asset_type=truck_type))
    for _ in range(checklists - 1):  # the same table: the checklist section reads each table in use once
        TruckDispatchChecklistFactory(dispatch=dispatch)
    with acting_as(manager):
        dispatches.assign(dispatch, technician)
    for _ in range(max(0, history - 2)):
        DispatchStatusHistoryFactory(dispatch=dispatch, changed_by=ManagerFactory())
    return dispatch


@pytest.mark.parametrize("role", ["manager", "technician"])
def test_dispatch_page(app, client, manager, role):
    for _ in range(3):
        TechnicianProfileFactory()
    tess = TechnicianProfileFactory().user
    truck_type = configured_truck_type()
    small = busy_dispatch(manager, tess, truck_type, checklists=1, history=1)
    large = busy_dispatch(manager, tess, truck_type, checklists=6, history=6)
    small_id, large_id = small.id, large.id
    login(client, manager if role == "manager" else tess)
    # A process loads the kept part of the candidate pool once (app/services/candidate_pool.py):
    # warm it, then start both counted requests from an empty session alike.
    client.get(f"/dispatches/{small_id}")
    db.session.remove()
    with counting_queries() as few:
        first = client.get(f"/dispatches/{small_id}")
    db.session.remove()
    with counting_queries() as many:
        second = client.get(f"/dispatches/{large_id}")
    assert first.status_code == second.status_code == 200
    assert html(second).count(" → ") > html(first).count(" → ")
    assert len(many) == len(few), "\n".join(many)


def test_my_work(app, client, manager):
    tess = TechnicianFactory()
    truck_type = configured_truck_type()

    def add(count):
        for n in range(count):
            status = ("Assigned", "En Route", "In Progress", "Completed")[n % 4]
            make_dispatch(f"Job mine {n}", status, tess, by=manager, asset=AssetFactory(asset_type=truck_type)) \
                if status != "Completed" else make_dispatch(f"Job mine {n}", status, tess, by=manager)

    login(client, tess)
    add(2)
    with counting_queries() as few:
        assert client.get("/dispatches/mine").status_code == 200
    add(10)
    with counting_queries() as many:
        body = html(client.get("/dispatches/mine"))
    assert body.count("<article") == 12
    assert len(many) == len(few), "\n".join(many)
