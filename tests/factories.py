"""factory-boy factories for every model, bound to the application's session.

Factories commit, so what they build is visible to services, other sessions and other
processes exactly like real data. Creating a ``DispatchFactory`` goes through the
creation rules (checklist rows, event, history) like every other path.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import base64
import hashlib
import os

import factory
from argon2 import PasswordHasher
from factory.alchemy import SQLAlchemyModelFactory

from app.extensions import db
from app.models import (
    POOL_VERSION_ID,
    ApiToken,
    DailyCostGroup,
    DailyRollup,
    DailyTrend,
    PoolVersion,
    IdempotencyKey,
    Alert,
    AlertSetting,
    AlertSilence,
    AlertThreshold,
    JobRun,
    ScheduleSetting,
    UserNotification,
    AllDispatchDetail,
    Asset,
    AssetType,
    AssetTypeDispatchDetailTableSet,
    AuthEvent,
    ChecklistDefect,
    Dispatch,
    DispatchMetric,
    DispatchNumberSequence,
    DispatchStatusHistory,
    Event,
    MajorLocation,
    MakeModel,
    ModelAdditionalDispatchDetailTableSet,
    NotificationChannel,
    NotificationDelivery,
    PluginSetting,
    Skill,
    TechnicianPosition,
    TechnicianProfile,
    TechnicianSkill,
    TruckDispatchChecklist,
    User,
    UserSession,
    VehicleDispatch,
    WebhookSubscription,
    utcnow,
)

DEFAULT_PASSWORD = "correct horse battery"
# Hashed once with the test suite's cheap parameters; verified by the app's own hasher.
_PASSWORD_HASH = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(DEFAULT_PASSWORD)


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


# --- People ------------------------------------------------------------------------------


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    role = "manager"
    password_hash = _PASSWORD_HASH


class UserSessionFactory(BaseFactory):
    """A live session row; the token it was made from is not kept (only its hash is stored)."""

    class Meta:
        model = UserSession

    user = factory.SubFactory(UserFactory)
    token_hash = factory.Sequence(lambda n: hashlib.sha256(f"token-{n}".encode()).hexdigest())
    address = "127.0.0.1"
    user_agent = "factory"


class AuthEventFactory(BaseFactory):
    class Meta:
        model = AuthEvent

    kind = "sign-in failed"
    email = factory.Sequence(lambda n: f"typed{n}@example.com")
    address = "127.0.0.1"


class AdminFactory(UserFactory):
    role = "admin"


class ManagerFactory(UserFactory):
    role = "manager"


class TechnicianFactory(UserFactory):
    role = "technician"


class DailyRollupFactory(BaseFactory):
    """A kept finished day of the cost sums (UTC here), with no groups: a day without records."""

    class Meta:
        model = DailyRollup

    zone = "UTC"
    day = factory.Sequence(lambda n: date(2026, 1, 1) + timedelta(days=n))
    starts_at = factory.LazyAttribute(lambda o: datetime.combine(o.day, time(), tzinfo=UTC))
    ends_at = factory.LazyAttribute(lambda o: datetime.combine(o.day + timedelta(days=1), time(), tzinfo=UTC))
    computed_at = factory.LazyAttribute(lambda o: o.ends_at + timedelta(hours=1))


class DailyCostGroupFactory(BaseFactory):
    """One asset type, location and priority of a kept day's cost sums."""

    class Meta:
        model = DailyCostGroup
        exclude = ("rollup",)  # the kept day the group belongs to, created first

    rollup = factory.SubFactory(DailyRollupFactory)
    zone = factory.LazyAttribute(lambda o: o.rollup.zone)
    day = factory.LazyAttribute(lambda o: o.rollup.day)
    asset_type_id = None
    location_id = None
    priority = "Normal"
    assignments = 2
    total_cost = 250.5
    labour_cost = 200.0
    overtime_cost = 30.0
    travel_cost = 20.5
    unsplit_cost = 0.0


class DailyTrendFactory(BaseFactory):
    """A kept finished day of the trends (UTC here: the day runs midnight to midnight)."""

    class Meta:
        model = DailyTrend

    zone = "UTC"
    day = factory.Sequence(lambda n: date(2026, 1, 1) + timedelta(days=n))
    starts_at = factory.LazyAttribute(lambda o: datetime.combine(o.day, time(), tzinfo=UTC))
    ends_at = factory.LazyAttribute(lambda o: datetime.combine(o.day + timedelta(days=1), time(), tzinfo=UTC))
    assignments = 2
    routing_p50_seconds = 40.0
    routing_p95_seconds = 90.0
    estimates = 2
    completion_p50_hours = 2.0
    completion_p95_hours = 3.5
    computed_at = factory.LazyAttribute(lambda o: o.ends_at + timedelta(hours=1))


class PoolVersionFactory(BaseFactory):
    """The one counter row (``id = 1`` by a CHECK): fetched when it exists, so it is never made twice."""

    class Meta:
        model = PoolVersion
        sqlalchemy_get_or_create = ("id",)

    id = POOL_VERSION_ID
    version = 0


class TechnicianPositionFactory(BaseFactory):
    """A position a technician's device shared a minute ago, near Leeds."""

    class Meta:
        model = TechnicianPosition
        exclude = ("technician",)

    technician = factory.SubFactory(TechnicianFactory)
    technician_id = factory.SelfAttribute("technician.id")
    latitude = 53.8
    longitude = -1.55
    accuracy_m = 25.0
    reported_at = factory.LazyFunction(lambda: utcnow() - timedelta(minutes=1))
    received_at = factory.LazyFunction(utcnow)


# --- Asset register ----------------------------------------------------------------------


class MajorLocationFactory(BaseFactory):
    class Meta:
        model = MajorLocation

    name = factory.Sequence(lambda n: f"Depot {n}")
    address = factory.Sequence(lambda n: f"{n} Yard Road")
    latitude = 53.8
    longitude = -1.55


class AssetTypeFactory(BaseFactory):
    class Meta:
        model = AssetType

    name = factory.Sequence(lambda n: f"Type {n}")


class MakeModelFactory(BaseFactory):
    class Meta:
        model = MakeModel

    make = factory.Sequence(lambda n: f"Make {n}")
    model = factory.Sequence(lambda n: f"Model {n}")
    asset_type = factory.SubFactory(AssetTypeFactory)


class AssetFactory(BaseFactory):
    class Meta:
        model = Asset

    asset_tag = factory.Sequence(lambda n: f"A-{n:05d}")
    name = factory.Sequence(lambda n: f"Asset {n}")
    asset_type = factory.SubFactory(AssetTypeFactory)
    make_model = factory.SubFactory(MakeModelFactory, asset_type=factory.SelfAttribute("..asset_type"))
    major_location = factory.SubFactory(MajorLocationFactory)
    odometer = 12_000.0


class EventFactory(BaseFactory):
    class Meta:
        model = Event

    event_type = "asset.note"
    description = factory.Sequence(lambda n: f"Something happened ({n})")
    asset = factory.SubFactory(AssetFactory)


# --- Detail sets -------------------------------------------------------------------------


class AssetTypeDispatchDetailTableSetFactory(BaseFactory):
    class Meta:
        model = AssetTypeDispatchDetailTableSet

    asset_type = factory.SubFactory(AssetTypeFactory)
    dispatch_detail_table_type = "truck_checklist"
    is_active = True


class ModelAdditionalDispatchDetailTableSetFactory(BaseFactory):
    class Meta:
        model = ModelAdditionalDispatchDetailTableSet

    make_model = factory.SubFactory(MakeModelFactory)
    dispatch_detail_table_type = "vehicle_dispatch"
    is_active = True


# --- Dispatches --------------------------------------------------------------------------


class DispatchFactory(BaseFactory):
    class Meta:
        model = Dispatch

    title = factory.Sequence(lambda n: f"Work order {n}")
    priority = "Normal"
    asset = factory.SubFactory(AssetFactory)
    due_date = factory.LazyFunction(lambda: utcnow() + timedelta(days=1))


class AllDispatchDetailFactory(BaseFactory):
    class Meta:
        model = AllDispatchDetail

    dispatch = factory.SubFactory(DispatchFactory)
    table_name = "truck_dispatch_checklists"


class TruckDispatchChecklistFactory(BaseFactory):
    """A checklist row added by hand (dispatch creation normally makes them)."""

    class Meta:
        model = TruckDispatchChecklist

    dispatch = factory.SubFactory(DispatchFactory)
    detail = factory.SubFactory(
        AllDispatchDetailFactory, dispatch=factory.SelfAttribute("..dispatch"), table_name="truck_dispatch_checklists"
    )


class VehicleDispatchFactory(BaseFactory):
    class Meta:
        model = VehicleDispatch

    dispatch = factory.SubFactory(DispatchFactory)
    detail = factory.SubFactory(
        AllDispatchDetailFactory, dispatch=factory.SelfAttribute("..dispatch"), table_name="vehicle_dispatches"
    )
    destination_address = "1 Harbour Street"
    fuel_level_start = 80.0
    mileage_start = 1000.0
    passenger_count = 1


class ChecklistDefectFactory(BaseFactory):
    """A defect written by hand (signing a checklist off with defects normally records them)."""

    class Meta:
        model = ChecklistDefect

    dispatch = factory.SubFactory(DispatchFactory)
    detail = factory.SubFactory(AllDispatchDetailFactory, dispatch=factory.SelfAttribute("..dispatch"))
    asset = factory.SelfAttribute("dispatch.asset")
    item = "brakes_checked"
    item_label = "Brakes"
    description = "Brake pedal soft"


class DispatchStatusHistoryFactory(BaseFactory):
    class Meta:
        model = DispatchStatusHistory

    dispatch = factory.SubFactory(DispatchFactory)
    status_from = "Created"
    status_to = "Created"
    change_reason = "note"
    changed_by = factory.SubFactory(ManagerFactory)


class PluginSettingFactory(BaseFactory):
    class Meta:
        model = PluginSetting

    name = factory.Sequence(lambda n: f"plugin-{n}")
    enabled = True


class NotificationChannelFactory(BaseFactory):
    class Meta:
        model = NotificationChannel

    name = factory.Sequence(lambda n: f"channel-{n}")
    enabled = True
    min_severity = "info"


class NotificationDeliveryFactory(BaseFactory):
    class Meta:
        model = NotificationDelivery

    public_id = factory.Faker("uuid4")
    channel = "log_file"
    kind = "alert.test"
    severity = "info"
    notification = factory.LazyAttribute(lambda o: {
        "kind": o.kind, "subject": "Test", "body": "", "recipients": [], "severity": o.severity,
        "dispatch_number": None, "category": None, "roles": [], "html": None, "data": {},
    })


class WebhookSubscriptionFactory(BaseFactory):
    class Meta:
        model = WebhookSubscription

    url = factory.Sequence(lambda n: f"https://hooks{n}.example.com/motorpool")
    description = "Fleet integration"
    event_types = factory.LazyFunction(lambda: ["dispatch.assigned"])
    secret = factory.LazyFunction(lambda: "whsec_" + base64.b64encode(os.urandom(32)).decode())
    active = True
    owner = factory.SubFactory(AdminFactory)


class AlertFactory(BaseFactory):
    class Meta:
        model = Alert

    category = "pending_queue"
    severity = "warning"
    message = factory.Sequence(lambda n: f"{n + 11} dispatches wait for a technician")
    value = 11.0
    fingerprint = factory.Sequence(lambda n: f"pending_queue:test-{n}")


class AlertThresholdFactory(BaseFactory):
    class Meta:
        model = AlertThreshold

    category = factory.Sequence(lambda n: f"check_{n}")
    warning = 10.0
    critical = 20.0


class AlertSilenceFactory(BaseFactory):
    class Meta:
        model = AlertSilence

    category = "utilisation"
    starts_at = factory.LazyFunction(utcnow)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=1))
    reason = "Planned depot shutdown"


class AlertSettingFactory(BaseFactory):
    class Meta:
        model = AlertSetting

    suppression_minutes = 30
    escalation_minutes = 30


class JobRunFactory(BaseFactory):
    class Meta:
        model = JobRun

    job = "assign-pending"
    slot_start = factory.Sequence(lambda n: datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=10 * n))
    started_at = factory.LazyAttribute(lambda o: o.slot_start)
    outcome = "succeeded"


class ScheduleSettingFactory(BaseFactory):
    class Meta:
        model = ScheduleSetting

    job = factory.Sequence(lambda n: f"job-{n}")
    interval_minutes = 15


class UserNotificationFactory(BaseFactory):
    class Meta:
        model = UserNotification

    user_id = factory.LazyFunction(lambda: TechnicianFactory().id)
    delivery_id = factory.Faker("uuid4")
    kind = "dispatch.assigned"
    severity = "info"
    subject = "Dispatch D-2026-000001 assigned to you"
    body = "Replace the brake pads (Normal)."


def configured_truck_type(name: str = "Truck") -> AssetType:
    """A Truck asset type whose dispatches get the truck checklist."""
    asset_type = AssetTypeFactory(name=name)
    AssetTypeDispatchDetailTableSetFactory(asset_type=asset_type, dispatch_detail_table_type="truck_checklist")
    return asset_type


# --- Matching ----------------------------------------------------------------------------


class SkillFactory(BaseFactory):
    class Meta:
        model = Skill

    name = factory.Sequence(lambda n: f"Skill {n}")
    category = "Mechanical"


class TechnicianProfileFactory(BaseFactory):
    class Meta:
        model = TechnicianProfile

    user = factory.SubFactory(TechnicianFactory)
    home_latitude = 53.8
    home_longitude = -1.55
    hourly_rate = 40.0
    shift_days = "1234567"
    shift_start = time(0, 0)
    shift_end = time(23, 59)


class TechnicianSkillFactory(BaseFactory):
    class Meta:
        model = TechnicianSkill

    profile = factory.SubFactory(TechnicianProfileFactory)
    skill = factory.SubFactory(SkillFactory)
    level = 3


class DispatchMetricFactory(BaseFactory):
    class Meta:
        model = DispatchMetric

    dispatch = factory.SubFactory(DispatchFactory)
    technician = factory.SubFactory(TechnicianFactory)
    mode = "manual"
    matcher = "weighted"
    score = 0.8
    score_breakdown = factory.LazyFunction(lambda: {"skill": 1.0})
    fallback_technicians = factory.LazyFunction(list)


class DispatchNumberSequenceFactory(BaseFactory):
    class Meta:
        model = DispatchNumberSequence

    year = factory.Sequence(lambda n: 2100 + n)
    last_number = 0


# --- The JSON API --------------------------------------------------------------------------


class ApiTokenFactory(BaseFactory):
    """A live token; its secret is ``factory_secret`` (only the hash is stored, as in the app)."""

    class Meta:
        model = ApiToken
        exclude = ("factory_secret",)

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"token {n}")
    factory_secret = factory.Sequence(lambda n: f"mp_factory{n:06d}{'x' * 30}")
    prefix = factory.LazyAttribute(lambda o: o.factory_secret[:12])
    secret_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.factory_secret.encode()).hexdigest())


class IdempotencyKeyFactory(BaseFactory):
    class Meta:
        model = IdempotencyKey

    scope = factory.LazyAttribute(lambda o: f"user:{o.user.id}")
    key = factory.Sequence(lambda n: f"key-{n}")
    user = factory.SubFactory(UserFactory)
    request_hash = "0" * 64
    status_code = 201
    response_body = "{}"
