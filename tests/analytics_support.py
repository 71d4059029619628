"""A hand-computed world for the assignment analytics tests (service, page, CSV, command).

The organisation's zone is UTC unless a test says otherwise. The range is 10–11 June 2026.

    dispatch  created        priority  asset (type, location)  skill       technician  outcome
    d1        10 Jun 08:00   Critical  T1 (Truck, North)       Hydraulics  Ann         completed 10 Jun 11:00, SLA 12:00: met
    d2        10 Jun 09:00   High      T1 (Truck, North)       Hydraulics  Ben         completed 11 Jun 01:00, SLA 10 Jun 10:00: late
    d3        11 Jun 10:00   Normal    V1 (Van, South)         Electrical  Ben         Assigned (open), 3 h estimated
    d4        11 Jun 12:00   Low       V1 (Van, South)         —           nobody      Created
    d5        11 Jun 13:00   Normal    T1 (Truck, North)       Hydraulics  Cy          Cancelled
    d0         9 Jun 23:00   High      T1 (Truck, North)       Hydraulics  Ann         completed 10 Jun 02:00, SLA 01:00: late
    d9        12 Jun 00:30   Normal    V1                      Electrical  nobody      (after the range)

Ann holds Hydraulics, Ben Electrical, Cy both. Ben holding d2 (Hydraulics) is the one
skill mismatch. Assignment records (dispatch_metrics), with chosen figures:

    record  made           dispatch  technician  mode      cost   ETC h  score  SLA expected  labour overtime travel
    r1      10 Jun 09:00   d1        Ann         auto      100.0  2.0    0.9    yes           60.0   30.0     10.0
    r2      10 Jun 09:30   d2        Ben         manual     50.0  4.0    0.4    no            40.0    0.0     10.0
    r3      11 Jun 11:00   d3        Ben         batch      70.0  3.0    0.7    yes           50.0   15.0      5.0
    r4      11 Jun 13:30   d5        Cy          fallback   30.0  1.0    0.6    yes           —  (not split: no parts)
    r0       9 Jun 23:30   d0        Ann         auto      999.0  —      —      —     (before the range; no parts)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

from app.models.base import clock_at
from app.services import dispatches as dispatch_service
from tests import matching_support as ms
from tests.factories import AssetFactory, AssetTypeFactory, DispatchMetricFactory, MajorLocationFactory
from tests.metric_support import assign, new_dispatch

SINCE, UNTIL = date(2026, 6, 10), date(2026, 6, 11)
RANGE = {"range": "custom", "since": "2026-06-10", "until": "2026-06-11"}


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=UTC)


def move(dispatch, status: str, when: datetime, reason: str | None = None):
    with clock_at(when):
        dispatch_service.change_status(dispatch, status, reason)


def complete(dispatch, when: datetime):
    move(dispatch, "In Progress", when)
    move(dispatch, "Completed", when)


def build_world():
    north, south = MajorLocationFactory(name="North"), MajorLocationFactory(name="South")
    truck, van = AssetTypeFactory(name="Truck"), AssetTypeFactory(name="Van")
    t1 = AssetFactory(asset_type=truck, major_location=north, asset_tag="T1")
    v1 = AssetFactory(asset_type=van, major_location=south, asset_tag="V1")
    ann = ms.technician("Ann", skills={"Hydraulics": 3})
    ben = ms.technician("Ben", skills={"Electrical": 3})
    cy = ms.technician("Cy", skills={"Hydraulics": 2, "Electrical": 2})

    d1 = new_dispatch(t(10, 8), asset=t1, priority="Critical", required_skill="Hydraulics", due_date=t(10, 12))
    assign(d1, ann, t(10, 9))
    complete(d1, t(10, 11))
    d2 = new_dispatch(t(10, 9), asset=t1, priority="High", required_skill="Hydraulics", due_date=t(10, 10))
    assign(d2, ben, t(10, 9, 30))
    complete(d2, t(11, 1))
    d3 = new_dispatch(t(11, 10), asset=v1, priority="Normal", required_skill="Electrical", due_date=t(12, 10),
                      estimated_duration_hours=3.0)
    assign(d3, ben, t(11, 11))
    d4 = new_dispatch(t(11, 12), asset=v1, priority="Low", required_skill=None, due_date=t(12, 12))
    d5 = new_dispatch(t(11, 13), asset=t1, priority="Normal", required_skill="Hydraulics", due_date=t(12, 13))
    assign(d5, cy, t(11, 13, 30))
    move(d5, "Cancelled", t(11, 14), "No longer needed")
    d0 = new_dispatch(t(9, 23), asset=t1, priority="High", required_skill="Hydraulics", due_date=t(10, 1))
    assign(d0, ann, t(9, 23, 30))
    complete(d0, t(10, 2))
    d9 = new_dispatch(t(12, 0, 30), asset=v1, priority="Normal", required_skill="Electrical", due_date=t(13, 0))

    def record(when, dispatch, technician, mode, cost, hours, score, sla, parts=(None, None, None)):
        labour, overtime, travel = parts
        return DispatchMetricFactory(created_at=when, dispatch=dispatch, technician=technician, mode=mode,
                                     operational_cost=cost, estimated_completion_hours=hours, score=score,
                                     sla_met=sla, routing_speed_seconds=60.0, labour_cost=labour,
                                     overtime_cost=overtime, travel_cost=travel)

    record(t(10, 9), d1, ann, "auto", 100.0, 2.0, 0.9, True, (60.0, 30.0, 10.0))
    record(t(10, 9, 30), d2, ben, "manual", 50.0, 4.0, 0.4, False, (40.0, 0.0, 10.0))
    record(t(11, 11), d3, ben, "batch", 70.0, 3.0, 0.7, True, (50.0, 15.0, 5.0))
    record(t(11, 13, 30), d5, cy, "fallback", 30.0, 1.0, 0.6, True)
    record(t(9, 23, 30), d0, ann, "auto", 999.0, None, None, None)
    return SimpleNamespace(north=north, south=south, truck=truck, van=van, ann=ann, ben=ben, cy=cy,
                           d0=d0, d1=d1, d2=d2, d3=d3, d4=d4, d5=d5, d9=d9)
