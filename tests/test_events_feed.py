"""The events feed: stable opaque cursors, the public item shape, role visibility, one query a page."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Event
from app.services import dispatches
from app.services.actors import acting_as
from app.services.errors import ValidationError
from app.services.events_feed import EVENT_TYPES, decode_cursor, encode_cursor, events_after
from tests import matching_support as ms
from tests.factories import AdminFactory, ManagerFactory
from tests.support.query_counter import counting_queries


@pytest.fixture
def manager(app):
    manager = ManagerFactory(name="Mia Manager")
    with acting_as(manager):
        yield manager


def everything(user, **kwargs) -> list[dict]:
    """Follow the feed from the start to its end, a page at a time."""
    items, cursor = [], None
    while True:
        page = events_after(cursor, user=user, **kwargs)
        items += page.items
        cursor = page.next
        if not page.has_more:
            return items


def test_pages_follow_each_other_without_gaps_or_repeats(manager):
    for _ in range(4):
        ms.dispatch()
    total = db.session.scalar(select(func.count()).select_from(Event))
    first = events_after(None, user=manager, limit=3)
    assert len(first.items) == 3 and first.has_more
    followed = everything(manager, limit=3)
    assert len(followed) == total
    ids = [item["id"] for item in followed]
    assert len(set(ids)) == total
    assert [decode_cursor(i) for i in ids] == sorted(decode_cursor(i) for i in ids)
    # The last page's cursor is kept: nothing new yet, then a new event shows up after it.
    last = events_after(None, user=manager, limit=500)
    assert last.has_more is False
    again = events_after(last.next, user=manager)
    assert again.items == [] and again.next == last.next
    ms.dispatch(title="Later job")
    (new,) = events_after(last.next, user=manager).items
    assert new["type"] == "dispatch.created"


def test_an_item_has_the_public_shape_an_api_serialises_as_is(manager):
    technician = ms.technician("Tess")
    dispatch = ms.dispatch(title="Brake check")
    dispatches.assign(dispatch, technician)
    items = events_after(None, user=manager).items
    assert json.loads(json.dumps(items)) == items
    changed = next(item for item in items if item["type"] == "dispatch.status_changed")
    assert set(changed) == {"id", "cursor", "type", "occurred_at", "dispatch_number", "actor", "data"}
    assert changed["id"] == changed["cursor"]
    assert changed["occurred_at"].endswith("Z")
    assert changed["dispatch_number"] == dispatch.dispatch_number
    assert changed["actor"] == {"id": manager.id, "name": "Mia Manager", "role": "manager"}
    assert changed["data"]["dispatch"] == {"number": dispatch.dispatch_number, "title": "Brake check",
                                          "status": "Assigned", "priority": "Normal"}
    assert "Created to Assigned" in changed["data"]["description"]


def test_a_technician_sees_only_events_of_their_own_dispatches(manager):
    tess, theo = ms.technician("Tess"), ms.technician("Theo")
    mine, theirs = ms.dispatch(title="Mine"), ms.dispatch(title="Theirs")
    ms.dispatch(title="Nobody's")
    dispatches.assign(mine, tess)
    dispatches.assign(theirs, theo)
    seen = everything(tess, limit=2)
    assert seen and {item["dispatch_number"] for item in seen} == {mine.dispatch_number}
    assert {item["dispatch_number"] for item in everything(manager)} >= {mine.dispatch_number,
                                                                         theirs.dispatch_number}
    assert len(everything(AdminFactory())) == len(everything(manager))


def test_types_narrow_the_feed(manager):
    technician = ms.technician("Tess")
    dispatches.assign(ms.dispatch(), technician)
    items = events_after(None, user=manager, types=["dispatch.status_changed"]).items
    assert [item["type"] for item in items] == ["dispatch.status_changed"]
    assert events_after(None, user=manager, types="dispatch.created, dispatch.status_changed").items


def _forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", [
    "not a cursor", "!!!!", "abc", _forged("ev1:-5"), _forged("ev2:10"), _forged("ev1:12x"),
    _forged("ev1:" + "9" * 30), encode_cursor(7) + "A", "A" * 41, "ZXYxOjE\x00",
])
def test_a_bad_cursor_is_refused_with_what_to_pass(manager, cursor):
    ms.dispatch()
    with pytest.raises(ValidationError) as refused:
        events_after(cursor, user=manager)
    assert "is not one this feed gave" in refused.value.message
    assert "`next` value of a previous page" in refused.value.message
    assert refused.value.field == "after"


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"limit": 0}, "ask for 1 to 500"),
    ({"limit": 501}, "ask for 1 to 500"),
    ({"limit": "10"}, "ask for 1 to 500"),
    ({"types": ["dispatch.created", "DROP TABLE"]}, "are not event type names"),
])
def test_bad_paging_values_are_refused(manager, kwargs, words):
    with pytest.raises(ValidationError, match=words):
        events_after(None, user=manager, **kwargs)


def test_a_page_is_one_query_whatever_its_size(manager):
    technician = ms.technician("Tess", max_concurrent=10)
    for _ in range(6):
        dispatches.assign(ms.dispatch(), technician)
    db.session.expire_all()
    assert technician.role and manager.role  # the users loaded before counting, as a request has them
    with counting_queries() as small:
        assert len(events_after(None, user=manager, limit=2).items) == 2
    with counting_queries() as large:
        assert len(events_after(None, user=technician, limit=200).items) >= 12
    assert len(small) == len(large) == 1


def test_the_catalogue_names_every_type_a_subscription_can_take():
    assert list(EVENT_TYPES) == ["dispatch.created", "dispatch.status_changed", "dispatch.assigned",
                                 "checklist.signed_off", "checklist.defect_reported", "alert.raised"]
    assert all(kind.label and kind.description for kind in EVENT_TYPES.values())
