from sqlalchemy import func, select

from app.models import AllDispatchDetail, TruckDispatchChecklist
from tests.factories import AssetFactory, DispatchFactory, configured_truck_type


def test_dispatch_factory_creates_checklist(app, session):
    truck = configured_truck_type()
    dispatch = DispatchFactory(asset=AssetFactory(asset_type=truck))
    assert dispatch.dispatch_number.startswith("D-")
    assert session.scalar(select(func.count()).select_from(TruckDispatchChecklist)) == 1
    assert session.scalar(select(func.count()).select_from(AllDispatchDetail)) == 1
