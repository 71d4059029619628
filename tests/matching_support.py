"""Helpers for matching tests: skills, technicians with profiles, dispatches at a place.

Everything is written through the application's session and committed, so services,
other sessions and other processes see it like real data. Dispatches are created through
the dispatch service (``app.services.dispatches.create_dispatch``), the path the web form
and the CLI use, so creation rules and lifecycle hooks apply.

Positions are (latitude, longitude). ``LEEDS`` is the default place; ``km_east`` gives a
point a set distance east of it, which makes "who is nearest" easy to read in a test.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime, time, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Asset,
    AssetType,
    Availability,
    Dispatch,
    DispatchStatus,
    MajorLocation,
    Skill,
    TechnicianProfile,
    TechnicianSkill,
    User,
    utcnow,
)
from tests.factories import TechnicianFactory

LEEDS = (53.8, -1.55)
_KM_PER_DEGREE_LATITUDE = 111.195
_counter = itertools.count(1)


def km_east(km: float, origin: tuple[float, float] = LEEDS) -> tuple[float, float]:
    """The point ``km`` kilometres due east of ``origin`` (close enough for short distances)."""
    latitude, longitude = origin
    degrees = km / (_KM_PER_DEGREE_LATITUDE * math.cos(math.radians(latitude)))
    return latitude, longitude + degrees


def all_day_shift(now: datetime | None = None) -> dict:
    """Shift fields that cover ``now``: every day, 00:00–23:59 UTC.

    In the last minutes before midnight (UTC) a 00:00–23:59 shift would end during the
    test, so the shift is then made round the clock (an end at or before the start is an
    overnight shift: 00:00–00:00 always covers now).
    """
    now = now or utcnow()
    end = time(23, 59) if (now.hour, now.minute) < (23, 55) else time(0, 0)
    return {"shift_days": "1234567", "shift_start": time(0, 0), "shift_end": end}


def off_shift_days(now: datetime | None = None) -> str:
    """A ``shift_days`` value that does not include today (nor tomorrow, nor yesterday)."""
    today = (now or utcnow()).isoweekday()
    return str((today + 2) % 7 + 1)  # three days from today, 1..7


# --- Skills -------------------------------------------------------------------------------


def skill(name: str, category: str = "mechanical") -> Skill:
    """The skill called ``name``, created (and committed) if it does not exist yet."""
    found = db.session.scalar(select(Skill).where(Skill.name == name))
    if found is not None:
        return found
    created = Skill(name=name, category=category)
    db.session.add(created)
    db.session.commit()
    return created


# --- Technicians --------------------------------------------------------------------------


def technician(
    name: str | None = None,
    *,
    at: tuple[float, float] = LEEDS,
    skills: dict[str, int] | None = None,
    max_concurrent: int = 3,
    max_hours_per_week: float = 40.0,
    hourly_rate: float = 40.0,
    availability: str = Availability.AVAILABLE.value,
    shift_days: str | None = None,
    shift_start: time | None = None,
    shift_end: time | None = None,
    **profile_fields,
) -> User:
    """A technician user with a ``TechnicianProfile``: skills ``{name: level 1..5}``, home at ``at``.

    The shift covers now unless ``shift_days``/``shift_start``/``shift_end`` say otherwise.
    Skills that do not exist yet are created (category ``mechanical``).
    """
    n = next(_counter)
    name = name or f"Tech {n}"
    user = TechnicianFactory(name=name, email=f"{name.lower().replace(' ', '.')}.{n}@example.com")
    shift = all_day_shift()
    if shift_days is not None:
        shift["shift_days"] = shift_days
    if shift_start is not None:
        shift["shift_start"] = shift_start
    if shift_end is not None:
        shift["shift_end"] = shift_end
    profile = TechnicianProfile(
        user_id=user.id,
        home_latitude=at[0],
        home_longitude=at[1],
        hourly_rate=hourly_rate,
        max_concurrent_dispatches=max_concurrent,
        max_hours_per_week=max_hours_per_week,
        availability=availability,
        **shift,
        **profile_fields,
    )
    for skill_name, level in (skills if skills is not None else {"diesel": 3}).items():
        profile.skills.append(TechnicianSkill(skill=skill(skill_name), level=level))
    db.session.add(profile)
    db.session.commit()
    return user


def profile_of(user: User | int) -> TechnicianProfile:
    """The technician's profile, freshly read (counters are written by core UPDATEs)."""
    user_id = user if isinstance(user, int) else user.id
    profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == user_id))
    db.session.refresh(profile)
    return profile


def open_dispatch_count(user: User | int) -> int:
    """How many Assigned / En Route / In Progress dispatches the technician holds, counted in the DB."""
    user_id = user if isinstance(user, int) else user.id
    return db.session.scalar(
        select(func.count()).select_from(Dispatch).where(
            Dispatch.assigned_user_id == user_id,
            Dispatch.status.in_((DispatchStatus.ASSIGNED, DispatchStatus.EN_ROUTE, DispatchStatus.IN_PROGRESS)),
        )
    )


# --- Places, assets, dispatches ------------------------------------------------------------


def location(at: tuple[float, float] = LEEDS, name: str | None = None) -> MajorLocation:
    place = MajorLocation(name=name or f"Site {next(_counter)}", latitude=at[0], longitude=at[1])
    db.session.add(place)
    db.session.commit()
    return place


def asset_type(name: str | None = None, default_skill: str | None = None) -> AssetType:
    if default_skill:
        skill(default_skill)
    kind = AssetType(name=name or f"Kind {next(_counter)}", default_skill=default_skill)
    db.session.add(kind)
    db.session.commit()
    return kind


def asset(at: tuple[float, float] = LEEDS, *, kind: AssetType | None = None, tag: str | None = None) -> Asset:
    """An asset parked at ``at`` (its own major location), of ``kind`` (a new type by default)."""
    n = next(_counter)
    thing = Asset(
        asset_tag=tag or f"M-{n:05d}",
        name=f"Asset {n}",
        asset_type=kind or asset_type(),
        major_location=location(at),
    )
    db.session.add(thing)
    db.session.commit()
    return thing


def dispatch(
    at: tuple[float, float] = LEEDS,
    *,
    skill_name: str | None = "diesel",
    priority: str = "Normal",
    hours: float = 2.0,
    due_date: datetime | None = None,
    on: Asset | None = None,
    title: str | None = None,
    auto_assign: bool | None = False,
) -> Dispatch:
    """A dispatch created through the service for an asset at ``at`` (or for ``on``).

    ``skill_name`` is the required skill (created if unknown; ``None`` = the asset type's
    default). Not auto-assigned unless ``auto_assign`` says so (``None`` = the app setting).
    """
    if skill_name:
        skill(skill_name)
    from app.services.dispatches import create_dispatch

    target = on or asset(at)
    return create_dispatch(
        title=title or f"Job {next(_counter)}",
        asset_id=target.id,
        priority=priority,
        required_skill=skill_name,
        estimated_duration_hours=hours,
        due_date=due_date,
        auto_assign=auto_assign,
    )


def due_in(hours: float) -> datetime:
    return utcnow() + timedelta(hours=hours)
