"""The built-in dispatch detail types: vehicle dispatch and truck checklist."""

from __future__ import annotations

from app.models.dispatching.dispatch_details import TruckDispatchChecklist, VehicleDispatch
from app.plugins import hookimpl


@hookimpl(trylast=True)
def motorpool_dispatch_detail_types():
    return [VehicleDispatch, TruckDispatchChecklist]
