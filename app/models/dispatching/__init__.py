from app.models.dispatching.all_dispatch_details import AllDispatchDetail
from app.models.dispatching.detail_table_sets import (
    AssetTypeDispatchDetailTableSet,
    ModelAdditionalDispatchDetailTableSet,
)
from app.models.dispatching.checklist_defect import ChecklistDefect, RepairCertification
from app.models.dispatching.dispatch import Dispatch, DispatchPriority, DispatchStatus, WorkType
from app.models.dispatching.dispatch_detail_virtual import DispatchDetailVirtual
from app.models.dispatching.dispatch_details import TruckDispatchChecklist, VehicleDispatch
from app.models.dispatching.dispatch_number_sequence import DispatchNumberSequence
from app.models.dispatching.dispatch_status_history import DispatchStatusHistory

__all__ = [
    "AllDispatchDetail",
    "ChecklistDefect",
    "RepairCertification",
    "WorkType",
    "AssetTypeDispatchDetailTableSet",
    "Dispatch",
    "DispatchDetailVirtual",
    "DispatchNumberSequence",
    "DispatchPriority",
    "DispatchStatus",
    "DispatchStatusHistory",
    "ModelAdditionalDispatchDetailTableSet",
    "TruckDispatchChecklist",
    "VehicleDispatch",
]
