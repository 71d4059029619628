"""Every model of the data model, importable from one place."""

from app.models.api_token import ApiToken
from app.models.alerting import ALERT_STATES, Alert, AlertSetting, AlertSilence, AlertThreshold
from app.models.assets import Asset, AssetStatus, AssetType, Event, MajorLocation, MakeModel
from app.models.auth_event import AuthEvent, AuthEventKind
from app.models.base import Base, UserCreatedBase, clock_at, utcnow
from app.models.daily_cost_group import DailyCostGroup
from app.models.daily_rollup import DailyRollup
from app.models.daily_trend import DailyTrend
from app.models.dispatching import (
    AllDispatchDetail,
    AssetTypeDispatchDetailTableSet,
    ChecklistDefect,
    Dispatch,
    DispatchDetailVirtual,
    DispatchNumberSequence,
    DispatchPriority,
    DispatchStatus,
    DispatchStatusHistory,
    ModelAdditionalDispatchDetailTableSet,
    RepairCertification,
    TruckDispatchChecklist,
    VehicleDispatch,
    WorkType,
)
from app.models.dispatching.dispatch_metric import DispatchMetric
from app.models.idempotency_key import IdempotencyKey
from app.models.job_run import JobOutcome, JobRun
from app.models.notification_channel import NotificationChannel
from app.models.notification_delivery import DeliveryStatus, NotificationDelivery
from app.models.plugin_setting import PluginSetting
from app.models.schedule_setting import ScheduleSetting
from app.models.technicians import (
    POOL_VERSION_ID,
    Availability,
    PoolVersion,
    Skill,
    TechnicianPosition,
    TechnicianProfile,
    TechnicianSkill,
)
from app.models.user import Role, User
from app.models.user_notification import UserNotification
from app.models.user_session import UserSession
from app.models.webhook_subscription import WebhookSubscription

__all__ = [
    "ApiToken",
    "IdempotencyKey",
    "ALERT_STATES",
    "Alert",
    "AlertSetting",
    "AlertSilence",
    "AlertThreshold",
    "AllDispatchDetail",
    "Availability",
    "Asset",
    "AssetStatus",
    "AssetType",
    "AssetTypeDispatchDetailTableSet",
    "AuthEvent",
    "AuthEventKind",
    "Base",
    "ChecklistDefect",
    "DailyCostGroup",
    "DailyRollup",
    "DailyTrend",
    "Dispatch",
    "DispatchDetailVirtual",
    "DispatchMetric",
    "DispatchNumberSequence",
    "DispatchPriority",
    "DispatchStatus",
    "DeliveryStatus",
    "DispatchStatusHistory",
    "Event",
    "JobOutcome",
    "JobRun",
    "MajorLocation",
    "MakeModel",
    "ModelAdditionalDispatchDetailTableSet",
    "NotificationChannel",
    "NotificationDelivery",
    "POOL_VERSION_ID",
    "PluginSetting",
    "PoolVersion",
    "RepairCertification",
    "ScheduleSetting",
    "Role",
    "Skill",
    "TechnicianPosition",
    "TechnicianProfile",
    "TechnicianSkill",
    "TruckDispatchChecklist",
    "User",
    "UserCreatedBase",
    "UserNotification",
    "UserSession",
    "VehicleDispatch",
    "WebhookSubscription",
    "WorkType",
    "clock_at",
    "utcnow",
]
