"""Helpers for the dispatch page tests: signing in, building dispatches in a state, counting SQL."""

from __future__ import annotations

import re

from app.extensions import db
from app.models import Dispatch
from app.services import dispatches
from app.services.actors import acting_as
from tests.factories import DEFAULT_PASSWORD, DispatchFactory
from tests.support.query_counter import counting_queries  # noqa: F401  (the page tests import it from here)


def login(client, user, password: str = DEFAULT_PASSWORD):
    response = client.post("/auth/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, "signed in"
    return response


def html(response) -> str:
    return response.get_data(as_text=True)


def make_dispatch(title: str, status: str = "Created", technician=None, *, by=None, **fields) -> Dispatch:
    """A dispatch moved through the status machine to ``status`` (by ``by``, a manager)."""
    dispatch = DispatchFactory(title=title, **fields)
    if status == "Created":
        return dispatch
    with acting_as(by):
        if status == "Cancelled":
            dispatches.change_status(dispatch, "Cancelled", "not needed")
            return dispatch
        dispatches.assign(dispatch, technician)
        steps = {"Assigned": [], "En Route": ["En Route"], "In Progress": ["In Progress"],
                 "Completed": ["In Progress", "Completed"]}[status]
        for step in steps:
            dispatches.change_status(dispatch, step)
    return dispatch


def status_of(dispatch_id: int) -> str:
    db.session.expire_all()
    return db.session.get(Dispatch, dispatch_id).status


def titles_in(body: str) -> list[str]:
    """Dispatch titles in list order (the list shows each title in its own cell)."""
    return re.findall(r'<td><span class="long-text">(Job [^<]*)</span>', body)

