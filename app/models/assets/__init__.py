from app.models.assets.asset import Asset, AssetStatus
from app.models.assets.asset_type import AssetType
from app.models.assets.event import Event
from app.models.assets.major_location import MajorLocation
from app.models.assets.make_model import MakeModel

__all__ = ["Asset", "AssetStatus", "AssetType", "Event", "MajorLocation", "MakeModel"]
