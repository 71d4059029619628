"""Rules that keep the dispatch pages fast on a large fleet (see docs/performance.md).

Timings are never asserted: these tests pin query counts that must not grow with the
data, the kept pool figures matching a fresh read, and the page shapes that keep the
list light (a bounded technician filter, free-text search as you type or paste).
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
from flask import current_app
from sqlalchemy import update

from app.extensions import db
from app.models import Dispatch, utcnow
from app.services import dispatches as dispatch_service
from app.services import candidate_pool, matching, queries
from tests import matching_support as ms
from tests.dispatch_pages_support import (
    counting_queries,
    html,
    login,
    make_dispatch,
    titles_in,
)
from tests.factories import (
    AssetFactory,
    ManagerFactory,
    TechnicianFactory,
    TechnicianProfileFactory,
)


@pytest.fixture
def manager(app):
    return ManagerFactory()


# --- the dispatch page with the assignment panel ----------------------------------------------


def test_the_assignment_panel_costs_the_same_queries_for_5_or_50_technicians(app, client, manager):
    for _ in range(5):
        TechnicianProfileFactory()
    waiting = make_dispatch("Job waiting")
    login(client, manager)
    client.get(f"/dispatches/{waiting.id}")  # the first ranking reads the recent work in full
    with counting_queries() as few:
        small = client.get(f"/dispatches/{waiting.id}")
    for _ in range(45):
        TechnicianProfileFactory()
    client.get(f"/dispatches/{waiting.id}")  # the same state of the session as before the first count
    with counting_queries() as many:
        large = client.get(f"/dispatches/{waiting.id}")
    assert small.status_code == large.status_code == 200
    assert html(large).count("<li") > html(small).count("<li")  # more candidates or exclusions shown
    assert len(many) == len(few), "\n".join(many)


# --- recent work kept between rankings ---------------------------------------------------------


def _fresh_recent_work() -> tuple[np.ndarray, np.ndarray]:
    """Hours and streaks as a cold read gives them (the kept rows dropped first)."""
    app_cache = current_app.extensions.get(candidate_pool.RECENT_WORK_KEY, {})
    kept = app_cache.pop("rows", None)
    try:
        pool = matching.load_pool().pool
        return pool.hours_last_7_days.copy(), pool.consecutive_work_days.copy()
    finally:
        if kept is not None:
            app_cache["rows"] = kept


def _assert_same_as_fresh() -> None:
    pool = matching.load_pool().pool
    hours, streak = _fresh_recent_work()
    assert pool.hours_last_7_days.tolist() == pytest.approx(hours.tolist())
    assert pool.consecutive_work_days.tolist() == streak.tolist()


def _completed(technician, hours: float = 3.0) -> Dispatch:
    dispatch = ms.dispatch(hours=hours)
    dispatch_service.assign(dispatch, technician)
    dispatch_service.change_status(dispatch, "In Progress")
    dispatch_service.change_status(dispatch, "Completed")
    return dispatch


def test_kept_recent_work_follows_completions_corrections_and_deletions(app, system_actor):
    alice, bob = ms.technician("Alice"), ms.technician("Bob")
    first = _completed(alice)
    loaded = matching.load_pool()  # reads and keeps the recent completions
    row = {int(t): i for i, t in enumerate(loaded.pool.technician_ids)}
    assert loaded.pool.consecutive_work_days[row[alice.id]] == 1

    second = _completed(bob)  # a new completion
    _assert_same_as_fresh()
    assert matching.load_pool().pool.consecutive_work_days[row[bob.id]] == 1

    # A correction of a recent completion: started nine hours before it was completed.
    db.session.execute(update(Dispatch).where(Dispatch.id == second.id)
                       .values(started_date=second.completed_date - timedelta(hours=9)))
    db.session.commit()
    assert matching.load_pool().pool.hours_last_7_days[row[bob.id]] == pytest.approx(9.0)
    _assert_same_as_fresh()

    # A completion dated further back than the rows re-read each time: the count check notices.
    db.session.execute(update(Dispatch).where(Dispatch.id == first.id)
                       .values(completed_date=utcnow() - timedelta(days=2)))
    db.session.commit()
    _assert_same_as_fresh()
    assert matching.load_pool().pool.consecutive_work_days[row[alice.id]] == 0

    # A completion withdrawn (corrected in the database) drops out.
    db.session.execute(update(Dispatch).where(Dispatch.id == second.id).values(completed_date=None, status="Cancelled"))
    db.session.commit()
    pool = matching.load_pool().pool
    assert pool.hours_last_7_days[row[bob.id]] == 0.0 and pool.consecutive_work_days[row[bob.id]] == 0
    _assert_same_as_fresh()


def test_kept_recent_work_is_one_query_whatever_the_completions(app, system_actor):
    crew = [ms.technician(f"Crew {n}") for n in range(3)]
    _completed(crew[0])
    matching.load_pool()
    with counting_queries() as few:
        matching.load_pool()
    for technician in crew:
        _completed(technician)
    with counting_queries() as many:
        matching.load_pool()
    assert len(many) == len(few) <= 6, "\n".join(many)


# --- the dispatch list --------------------------------------------------------------------------


def test_the_technician_filter_offers_a_bounded_choice_and_a_search(app, client, manager):
    people = [TechnicianFactory(name=f"Tech {n:03d}") for n in range(queries.TECHNICIAN_CHOICES + 5)]
    zed = TechnicianFactory(name="Zed Last")
    make_dispatch("Job for Zed", "Assigned", zed, by=manager)
    make_dispatch("Job for another", "Assigned", people[0], by=manager)
    zed_id, first_id = zed.id, people[0].id
    login(client, manager)
    body = html(client.get("/dispatches/"))
    select = re.search(r'<select id="filter-technician" name="technician">(.*?)</select>', body, re.DOTALL).group(1)
    offered = re.findall(r'<option value="(\d+)"', select)
    assert len(offered) == queries.TECHNICIAN_CHOICES and "More technicians" in select
    assert str(zed_id) not in offered  # beyond the first names: found by searching
    assert 'id="filter-technician-search"' in body and ">Find technician</label>" in body

    # Without JavaScript: the form sends the search, the page offers the matches.
    body = html(client.get("/dispatches/?technician_search=zed"))
    select = re.search(r'<select id="filter-technician" name="technician">(.*?)</select>', body, re.DOTALL).group(1)
    assert re.findall(r'<option value="(\d+)"', select) == [str(zed_id)]
    # With htmx: the options alone; the chosen technician stays offered whatever the search.
    fragment = html(client.get(f"/dispatches/?part=technician-options&technician_search=zed&technician={first_id}"))
    assert "<html" not in fragment and "<option" in fragment
    assert re.findall(r'<option value="(\d+)"', fragment) == [str(first_id), str(zed_id)]
    assert re.search(rf'<option value="{first_id}" selected>', fragment)
    assert "No technician matches" in html(client.get("/dispatches/?part=technician-options&technician_search=qqq"))
    # The filter itself is unchanged, and keeps the chosen technician offered.
    body = html(client.get(f"/dispatches/?technician={zed_id}"))
    assert titles_in(body) == ["Job for Zed"]
    assert re.search(rf'<option value="{zed_id}" selected>Zed Last</option>', body)


def test_free_text_search_filters_as_you_type_or_paste(app, client, manager):
    login(client, manager)
    body = html(client.get("/dispatches/"))
    form = re.search(r'<form id="dispatch-filters"[^>]*>', body, re.DOTALL).group(0)
    assert "input changed delay:400ms from:#filter-q" in form and "search from:#filter-q" in form
    assert re.search(r'hx-trigger="change[,"]', form)  # the selects still filter on change
    assert "keyup" not in form


def test_free_text_search_matches_title_number_and_asset(app, client, manager):
    asset = AssetFactory(asset_tag="TRK-0777", name="Green tipper")
    tyre = make_dispatch("Job TYRE change")
    make_dispatch("Job brakes", asset=asset)
    other = make_dispatch("Job other")
    login(client, manager)

    def listed(q):
        return titles_in(html(client.get(f"/dispatches/?q={q}")))

    assert listed("tyre") == ["Job TYRE change"]  # any case
    assert listed("trk-0777") == listed("tipper") == ["Job brakes"]
    assert listed(other.dispatch_number) == ["Job other"]
    assert listed(tyre.dispatch_number.lower()) == ["Job TYRE change"]
    assert listed("100%") == [] and listed("_") == []  # wildcards are literal


def test_deep_pages_keep_their_order(make_app):
    app = make_app(DISPATCHES_PER_PAGE=3)
    with app.app_context():
        manager = ManagerFactory()
        for n in range(8):
            make_dispatch(f"Job {n}")
        # all created at the same moment: the id decides
        db.session.execute(update(Dispatch).values(created_date=utcnow()))
        db.session.commit()
        client = app.test_client()
        login(client, manager)
        seen = []
        for page in (1, 2, 3):
            seen += titles_in(html(client.get(f"/dispatches/?page={page}")))
        assert seen == [f"Job {n}" for n in reversed(range(8))]
        seen = []
        for page in (1, 2, 3):
            seen += titles_in(html(client.get(f"/dispatches/?page={page}&sort=title")))
        assert seen == [f"Job {n}" for n in range(8)]
        db.session.remove()


def test_the_manual_picker_offers_a_bounded_choice_and_finds_the_rest_by_name(app, client, manager):
    from app.blueprints.dispatches.panels import MANUAL_PICKER_SIZE

    for n in range(MANUAL_PICKER_SIZE + 5):
        TechnicianProfileFactory(user=TechnicianFactory(name=f"Tech {n:03d}"))
    TechnicianProfileFactory(user=TechnicianFactory(name="Zelda Zimmermann"))
    waiting = make_dispatch("Job waiting")
    login(client, manager)

    page = html(client.get(f"/dispatches/{waiting.id}"))
    picker = re.search(r'<select id="assign-technician".*?</select>', page, re.S).group(0)
    assert picker.count("<option value=\"") - picker.count('value="" disabled') == MANUAL_PICKER_SIZE
    assert "Zelda" not in picker and "find them by name" in picker and 'id="assign-search"' in page

    found = client.get(f"/dispatches/{waiting.id}?part=assign-options&assign_search=zelda",
                       headers={"HX-Request": "true"})
    assert found.status_code == 200 and "Zelda Zimmermann" in found.text and "Tech 001" not in found.text
    assert "HX-Request" in found.headers["Vary"]
