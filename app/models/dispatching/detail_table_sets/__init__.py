from app.models.dispatching.detail_table_sets.asset_type_dispatch_detail_table_set import (
    AssetTypeDispatchDetailTableSet,
)
from app.models.dispatching.detail_table_sets.model_additional_dispatch_detail_table_set import (
    ModelAdditionalDispatchDetailTableSet,
)

__all__ = ["AssetTypeDispatchDetailTableSet", "ModelAdditionalDispatchDetailTableSet"]
