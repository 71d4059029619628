"""Writing work at chosen moments, for the tests of figures (metrics, dashboards)."""

from __future__ import annotations

from datetime import datetime

from app.models.base import clock_at
from app.services import dispatches as dispatch_service
from tests.factories import DispatchFactory


def new_dispatch(when: datetime, **fields):
    with clock_at(when):
        return DispatchFactory(**fields)


def assign(dispatch, technician, when: datetime):
    with clock_at(when):
        dispatch_service.assign(dispatch, technician)
