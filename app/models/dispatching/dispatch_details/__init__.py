from app.models.dispatching.dispatch_details.truck_dispatch_checklist import TruckDispatchChecklist
from app.models.dispatching.dispatch_details.vehicle_dispatch import VehicleDispatch

__all__ = ["TruckDispatchChecklist", "VehicleDispatch"]
