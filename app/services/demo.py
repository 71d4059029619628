"""Demo data: a small fleet, its people, and as many dispatches as asked for.

Dispatches are created through the same creation rules as every other path (the flush
hook creates their checklist rows, events and history), in batches that each commit once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Asset,
    AssetType,
    Dispatch,
    DispatchPriority,
    MajorLocation,
    MakeModel,
    Role,
    Skill,
    TechnicianProfile,
    TechnicianSkill,
    User,
    utcnow,
)
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
ASSET_TYPE_SKILLS = {"Truck": "HGV driving", "Vehicle": "Van driving"}

SKILLS = [
    ("HGV driving", "Driving"), ("Van driving", "Driving"), ("Forklift", "Driving"),
    ("Diesel engines", "Mechanical"), ("Brakes", "Mechanical"), ("Tyres", "Mechanical"),
    ("Auto electrics", "Electrical"), ("Diagnostics", "Electrical"), ("Refrigeration", "Refrigeration"),
]

# name -> (skills with levels, shift days, shift start hour, shift end hour)
TECHNICIAN_PROFILES = {
    "Amara Okafor": ({"HGV driving": 5, "Diesel engines": 3}, "12345", 6, 18),
    "Ben Hughes": ({"Van driving": 4, "Tyres": 4}, "12345", 6, 18),
    "Chen Wei": ({"Auto electrics": 5, "Diagnostics": 5, "Van driving": 2}, "1234567", 0, 0),
    "Dana Kowalski": ({"HGV driving": 3, "Forklift": 4}, "34567", 14, 23),
    "Elif Yilmaz": ({"Brakes": 5, "Diesel engines": 4, "HGV driving": 2}, "1234567", 0, 0),
    "Finn O'Brien": ({"Van driving": 5, "Refrigeration": 3}, "12345", 8, 20),
    "Grace Mensah": ({"HGV driving": 4, "Van driving": 4}, "67123", 22, 8),
    "Hugo Martins": ({"Refrigeration": 5, "Auto electrics": 3}, "1234567", 0, 0),
}

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
        skills = {name: Skill(name=name, category=category) for name, category in SKILLS}
        db.session.add_all(skills.values())
        types: dict[str, AssetType] = {}
        for type_name, keys in ASSET_TYPE_SETS.items():
            types[type_name] = asset_service.create_asset_type(type_name)
            types[type_name].default_skill = ASSET_TYPE_SKILLS[type_name]
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
            user = _user(email, name, role.value)
            if name in TECHNICIAN_PROFILES:
                _profile(user, locations[len(user.name) % len(locations)], skills, *TECHNICIAN_PROFILES[name])
    return [DemoLogin(role=role.value, email=email, name=name) for email, name, role in logins]


def _profile(user: User, base: MajorLocation, skills: dict[str, Skill], levels: dict[str, int],
             days: str, start: int, end: int) -> None:
    """A technician profile based at a depot; a shift of 0–0 means round the clock."""
    if db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == user.id)):
        return
    profile = TechnicianProfile(
        user=user, home_latitude=base.latitude, home_longitude=base.longitude,
        hourly_rate=38.0 + len(levels) * 4, overtime_multiplier=1.5, shift_days=days,
        shift_start=time(start, 0), shift_end=time(end, 0) if end != start else time(23, 59),
        max_concurrent_dispatches=3, max_hours_per_week=45.0,
    )
    profile.skills = [TechnicianSkill(skill=skills[name], level=level) for name, level in levels.items()]
    db.session.add(profile)


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
    """Move a share of the new dispatches along, through the status machine.

    Only technicians with a free slot are picked, so capacity holds as it would in real use.
    """
    free = {
        user_id: limit - active
        for user_id, limit, active in db.session.execute(
            select(TechnicianProfile.user_id, TechnicianProfile.max_concurrent_dispatches,
                   TechnicianProfile.active_dispatch_count)
        )
    }
    for dispatch in batch:
        roll = rng.random()
        if roll < 0.45:
            continue
        if roll < 0.5:
            dispatches.change_status(dispatch, "Cancelled", "Demo: no longer needed")
            continue
        finishing = roll >= 0.75
        candidates = [t for t in technicians if free.get(t.id, 0) > 0]
        if not candidates:
            continue
        technician = rng.choice(candidates)
        dispatches.assign(dispatch, technician, "Demo assignment")
        if not finishing:
            free[technician.id] -= 1
        if roll < 0.65:
            continue
        dispatches.change_status(dispatch, "In Progress")
        if roll < 0.75:
            continue
        _complete_checklists(dispatch, technician)
        dispatches.change_status(dispatch, "Completed")


def _complete_checklists(dispatch: Dispatch, technician: User) -> None:
    """Answer every required item of the dispatch's checklists as fine, and sign them off."""
    from app.services import checklists

    for checklist in checklists.checklists_for(dispatch):
        if not checklist.loaded:
            continue  # cannot be answered without its plugin; completion then refuses, as it should
        with transaction():
            for item in checklist.items.values():
                if not item.field.required or item.answered:
                    continue
                value = item.field.fine_value()
                setattr(checklist.detail, item.field.name, value)
                item.value = value
            db.session.flush()
        checklists.sign_off(checklist, technician)
