"""Demo data: a small fleet, its people, and as many dispatches as asked for.

Dispatches are created through the same creation rules as every other path (the flush
hook creates their checklist rows, events and history), in batches that each commit once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Asset, AssetType, Dispatch, DispatchPriority, MakeModel, Role, User, utcnow
from app.services import assets as asset_service
from app.services import detail_sets, dispatches, users
from app.services.dispatch_creation import DispatchSpec, bulk_create_dispatches
from app.services.transaction import transaction

DEMO_PASSWORD = "motorpool-demo"  # documented in the README; demo accounts only

LOCATIONS = [
    ("North Depot", "12 Foundry Road, Leeds", 53.8321, -1.5331),
    ("South Yard", "4 Canal Wharf, Leeds", 53.7865, -1.5450),
    ("East Hub", "88 York Road, Leeds", 53.8047, -1.4862),
    ("West Works", "1 Ring Road, Bramley", 53.8128, -1.6263),
    ("Airport Base", "Whitehouse Lane, Yeadon", 53.8659, -1.6606),
]

# (make, model, asset type, additional detail types beyond the type's own set)
MODELS = [
    ("Volvo", "FH16", "Truck", []),
    ("Scania", "R500", "Truck", ["vehicle_dispatch"]),
    ("DAF", "XF", "Truck", []),
    ("Ford", "Transit", "Vehicle", []),
    ("Mercedes-Benz", "Sprinter", "Vehicle", ["truck_checklist"]),
    ("Toyota", "Hilux", "Vehicle", []),
]

ASSET_TYPE_SETS = {"Truck": ["truck_checklist"], "Vehicle": ["vehicle_dispatch"]}

TECHNICIANS = [
    "Amara Okafor", "Ben Hughes", "Chen Wei", "Dana Kowalski",
    "Elif Yilmaz", "Finn O'Brien", "Grace Mensah", "Hugo Martins",
]

TITLES = [
    "Deliver pallets to {site}", "Pre-trip inspection", "Collect spare parts from {site}",
    "Tyre replacement run", "Move vehicle to {site}", "Scheduled service trip",
    "Return hire equipment to {site}", "Emergency fuel delivery", "Driver training run",
    "Transfer load to {site}",
]

PRIORITY_WEIGHTS = {
    DispatchPriority.LOW: 20, DispatchPriority.NORMAL: 55,
    DispatchPriority.HIGH: 18, DispatchPriority.CRITICAL: 7,
}


@dataclass
class DemoLogin:
    role: str
    email: str
    name: str


def database_is_empty() -> bool:
    real_users = db.session.scalar(select(func.count()).select_from(User).where(User.is_system.is_(False)))
    return not real_users and not db.session.scalar(select(func.count()).select_from(Dispatch))


def _user(email: str, name: str, role: str) -> User:
    existing = db.session.scalar(select(User).where(User.email == email))
    return existing or users.create_user(email=email, name=name, role=role, password=DEMO_PASSWORD)


def seed_fleet() -> list[DemoLogin]:
    """Locations, asset types with their detail sets, models, assets and people."""
    with transaction():
        locations = [asset_service.create_location(*row) for row in LOCATIONS]
        types: dict[str, AssetType] = {}
        for type_name, keys in ASSET_TYPE_SETS.items():
            types[type_name] = asset_service.create_asset_type(type_name)
            for key in keys:
                detail_sets.add_type_to_asset_type(types[type_name], key)
        types["Trailer"] = asset_service.create_asset_type("Trailer", "Unpowered; no checklist configured")
        models: list[MakeModel] = []
        for make, model, type_name, extra in MODELS:
            make_model = asset_service.create_make_model(make, model, types[type_name])
            for key in extra:
                detail_sets.add_type_to_make_model(make_model, key)
            models.append(make_model)
        for number in range(1, 41):
            make_model = models[(number - 1) % len(models)]
            prefix = "TRK" if make_model.asset_type.name == "Truck" else "VEH"
            asset_service.create_asset(
                asset_tag=f"{prefix}-{number:04d}",
                name=f"{make_model.display_name} #{number}",
                asset_type=make_model.asset_type,
                make_model=make_model,
                location=locations[number % len(locations)],
                odometer=float(10_000 + number * 1_337),
            )
        logins = [("admin@motorpool.example", "Avery Admin", Role.ADMIN), ("manager@motorpool.example", "Morgan Manager", Role.MANAGER)]
        for index, name in enumerate(TECHNICIANS, start=1):
            logins.append((f"tech{index}@motorpool.example", name, Role.TECHNICIAN))
        for email, name, role in logins:
            _user(email, name, role.value)
    return [DemoLogin(role=role.value, email=email, name=name) for email, name, role in logins]


def seed_dispatches(count: int, *, seed: int = 2026, batch_size: int = 2000, advance: int = 2000,
                    progress: Callable[[int], None] | None = None) -> int:
    """Create ``count`` dispatches for the demo fleet.

    Of the first ``advance`` dispatches about half are moved along the status machine
    (assigned, started, completed or cancelled) through the status service, one change at
    a time, so that the demo has work in every state; the rest stay Created.
    """
    advance_budget = advance
    rng = random.Random(seed)
    fleet = db.session.scalars(
        select(Asset).options(
            selectinload(Asset.asset_type), selectinload(Asset.make_model), selectinload(Asset.major_location)
        )
    ).all()
    technicians = db.session.scalars(select(User).where(User.role == Role.TECHNICIAN.value)).all()
    if not fleet:
        raise RuntimeError("There are no assets to dispatch; seed the fleet first.")
    now = utcnow()
    created = 0
    session = db.session()
    # The fleet and technicians are reused by every batch: keep them loaded across commits.
    expire_on_commit, session.expire_on_commit = session.expire_on_commit, False
    try:
        while created < count:
            size = min(batch_size, count - created)
            advance_budget -= _create_batch(size, fleet, technicians, rng, now, max(0, advance_budget))
            created += size
            if progress:
                progress(size)
    finally:
        session.expire_on_commit = expire_on_commit
    return created


def _create_batch(
    size: int, fleet: list[Asset], technicians: list[User], rng: random.Random, now: datetime, advance: int
) -> int:
    """Create one batch in one transaction; move up to ``advance`` of them along. Returns how many moved."""
    priorities = list(PRIORITY_WEIGHTS)
    weights = list(PRIORITY_WEIGHTS.values())
    specs = []
    for _ in range(size):
        asset = rng.choice(fleet)
        site = asset.major_location.name if asset.major_location else "site"
        created_date = now - timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        due = created_date + timedelta(hours=rng.choice([4, 8, 24, 72])) if rng.random() < 0.7 else None
        specs.append(
            DispatchSpec(
                title=rng.choice(TITLES).format(site=site),
                priority=rng.choices(priorities, weights)[0].value,
                asset=asset,
                created_date=created_date,
                due_date=due,
            )
        )
    with transaction():
        ids = bulk_create_dispatches(db.session, specs)
        moved = ids[:advance] if technicians else []
        if moved:
            batch = db.session.scalars(select(Dispatch).where(Dispatch.id.in_(moved))).all()
            _advance(list(batch), technicians, rng)
    return len(moved)


def _advance(batch: list[Dispatch], technicians: list[User], rng: random.Random) -> None:
    """Move a share of the new dispatches along, through the status machine."""
    for dispatch in batch:
        roll = rng.random()
        if roll < 0.45:
            continue
        if roll < 0.5:
            dispatches.change_status(dispatch, "Cancelled", "Demo: no longer needed")
            continue
        dispatches.assign(dispatch, rng.choice(technicians), "Demo assignment")
        if roll < 0.65:
            continue
        dispatches.change_status(dispatch, "In Progress")
        if roll < 0.75:
            continue
        dispatches.change_status(dispatch, "Completed")
