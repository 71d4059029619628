"""Technician profiles and skills, with validated input."""

from __future__ import annotations

import math

from datetime import datetime, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import MajorLocation, Role, Skill, TechnicianPosition, TechnicianProfile, TechnicianSkill, User, utcnow
from app.services import actors, capacity
from app.services import text as text_rules
from app.services.errors import NotFound, PermissionDenied, Problems, ValidationError
from app.services.queries import Page
from app.services.transaction import transaction
from app.services.text import contains_text, same_text

PROFILE_FIELDS = {
    "home_latitude", "home_longitude", "current_latitude", "current_longitude", "hourly_rate",
    "overtime_multiplier", "shift_days", "shift_start", "shift_end", "max_concurrent_dispatches",
    "max_hours_per_week",
}


def technician_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or user.role != Role.TECHNICIAN:
        raise NotFound(f"There is no technician with the email {email!r}.")
    return user


_NUMBERS = ("home_latitude", "current_latitude", "home_longitude", "current_longitude", "hourly_rate",
            "overtime_multiplier", "max_concurrent_dispatches", "max_hours_per_week")


def _validate(values: dict) -> None:
    """Every refused value at once, each naming its field."""
    problems = Problems()
    refuse = problems.errors.append
    for name in _NUMBERS:
        value = values.get(name)
        if value is not None and not math.isfinite(value):
            refuse(ValidationError(f"{name.replace('_', ' ').capitalize()} must be a number, not {value}.", field=name))
    if values.get("max_concurrent_dispatches") is not None and values["max_concurrent_dispatches"] > 100:
        refuse(ValidationError("At most 100 dispatches at a time can be set.", field="max_concurrent_dispatches"))
    if values.get("hourly_rate") is not None and values["hourly_rate"] > 100_000:
        refuse(ValidationError("The hourly rate looks wrong: more than 100,000 an hour.", field="hourly_rate"))
    if values.get("overtime_multiplier") is not None and values["overtime_multiplier"] > 10:
        refuse(ValidationError("The overtime multiplier must be at most 10.", field="overtime_multiplier"))
    for name in ("home_latitude", "current_latitude"):
        if values.get(name) is not None and not -90 <= values[name] <= 90:
            refuse(ValidationError(f"{name.replace('_', ' ').capitalize()} {values[name]} is outside -90 to 90.", field=name))
    for name in ("home_longitude", "current_longitude"):
        if values.get(name) is not None and not -180 <= values[name] <= 180:
            refuse(ValidationError(f"{name.replace('_', ' ').capitalize()} {values[name]} is outside -180 to 180.", field=name))
    if values.get("hourly_rate") is not None and values["hourly_rate"] < 0:
        refuse(ValidationError("The hourly rate cannot be negative.", field="hourly_rate"))
    if values.get("overtime_multiplier") is not None and values["overtime_multiplier"] < 1:
        refuse(ValidationError("The overtime multiplier must be at least 1 (1.5 = time and a half).", field="overtime_multiplier"))
    if values.get("max_concurrent_dispatches") is not None and values["max_concurrent_dispatches"] < 1:
        refuse(ValidationError("A technician must be able to take at least 1 dispatch at a time.", field="max_concurrent_dispatches"))
    if values.get("max_hours_per_week") is not None and not 0 < values["max_hours_per_week"] <= 168:
        refuse(ValidationError("Maximum hours per week must be between 0 and 168.", field="max_hours_per_week"))
    days = values.get("shift_days")
    if days is not None and (not days or any(d not in "1234567" for d in days) or len(set(days)) != len(days)):
        refuse(ValidationError(
            f"Shift days {days!r} must be ISO weekday digits, each once: 1 = Monday … 7 = Sunday, e.g. 12345.",
            field="shift_days",
        ))
    for name in ("shift_start", "shift_end"):
        if values.get(name) is not None and not isinstance(values[name], time):
            refuse(ValidationError(f"{name.replace('_', ' ').capitalize()} must be a time like 07:00.", field=name))
    # A value that is not a number also fails the range checks: name each field once.
    seen: set[str | None] = set()
    problems.errors = [e for e in problems.errors if not (e.field in seen or seen.add(e.field))]
    problems.raise_any()


def check_values(values: dict) -> None:
    """Refuse, all at once, the profile values given that are out of range (nothing is written)."""
    _validate(values)


_DAY_NAMES = dict(zip("1234567", ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))


def shift_days_text(digits: str | None) -> str:
    """ISO weekday digits as people read them: "12345" is "Mon–Fri", "1357" is "Mon, Wed, Fri, Sun"."""
    days = sorted({int(d) for d in digits or "" if d in _DAY_NAMES})
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_DAY_NAMES[str(run[0])]}–{_DAY_NAMES[str(run[-1])]}")
        else:
            parts.extend(_DAY_NAMES[str(day)] for day in run)
    return ", ".join(parts) or "no days"


def home_locations() -> list[MajorLocation]:
    """The locations a home base can be picked from: active, with coordinates."""
    return list(db.session.scalars(
        select(MajorLocation).where(MajorLocation.is_active.is_(True), MajorLocation.latitude.is_not(None),
                                    MajorLocation.longitude.is_not(None)).order_by(MajorLocation.name)))


def home_base(*, location_id: int | None = None, address: str | None = None, latitude: float | None = None,
              longitude: float | None = None) -> tuple[float | None, float | None]:
    """Where a technician's home is: a chosen location's coordinates, else those of the known
    location at the address typed, else the coordinates typed (in that order)."""
    from app.services.assets import location_with_address

    if location_id:
        location = db.session.get(MajorLocation, location_id)
        if location is None or not location.is_active:
            raise ValidationError("That location is not offered any more; choose another one.", field="home_location_id")
        if location.latitude is None or location.longitude is None:
            raise ValidationError(f"{location.name} has no coordinates; add them to the location first.",
                                  field="home_location_id")
        return location.latitude, location.longitude
    if (address or "").strip():
        location = location_with_address(address)
        return location.latitude, location.longitude
    return latitude, longitude


def save_profile(technician: User, **values) -> TechnicianProfile:
    """Create or update a technician's profile; only the fields given change."""
    unknown = set(values) - PROFILE_FIELDS
    if unknown:
        raise ValidationError(f"Unknown profile fields: {', '.join(sorted(unknown))}.")
    if technician.role != Role.TECHNICIAN:
        raise ValidationError(f"{technician.name} is a {technician.role}, not a technician.")
    _validate(values)
    with transaction():
        profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == technician.id))
        if profile is None:
            # Dispatches assigned before the profile existed count against its capacity.
            profile = TechnicianProfile(user_id=technician.id, active_dispatch_count=capacity.open_dispatch_count(technician.id))
            db.session.add(profile)
            limit = values.get("max_concurrent_dispatches", 3)
            if profile.active_dispatch_count > limit:
                raise ValidationError(
                    f"{technician.name} already holds {profile.active_dispatch_count} open dispatches; "
                    f"give a maximum of at least that many.",
                    field="max_concurrent_dispatches",
                )
        if "max_concurrent_dispatches" in values and values["max_concurrent_dispatches"] < (profile.active_dispatch_count or 0):
            raise ValidationError(
                f"{technician.name} has {profile.active_dispatch_count} active dispatches; the limit cannot be lower.",
                field="max_concurrent_dispatches",
            )
        for name, value in values.items():
            setattr(profile, name, value)
        if "max_concurrent_dispatches" in values:
            # A dispatch held past the old limit (a manager's override) counts once there is room.
            db.session.flush()
            capacity.release(technician.id)
    return profile


def _checked_skill(name: str, category: str, *, keep: Skill | None = None) -> tuple[str, str]:
    """The trimmed name and category, or the refusal of a blank one or a name taken whatever the case."""
    name, category = (name or "").strip(), (category or "").strip()
    problems = Problems()
    if not name or not category:
        problems.errors.append(ValidationError(
            "A skill needs a name and a category (skills in one category count as related).",
            field="name" if not name else "category"))
    # Before the lookup: a NUL would be refused by PostgreSQL's driver, not with a message.
    problems.check(text_rules.check, Skill, "name", name)
    problems.check(text_rules.check, Skill, "category", category)
    problems.raise_any()
    taken = select(Skill.name).where(same_text(Skill.name, name))
    if keep is not None:
        taken = taken.where(Skill.id != keep.id)
    existing = db.session.scalar(taken)
    if existing is not None:  # names are unique whatever their case (an index on lower(name) holds it too)
        raise ValidationError(f"A skill named {existing!r} already exists; use it rather than adding {name!r}.",
                              field="name")
    return name, category


def add_skill(name: str, category: str) -> Skill:
    name, category = _checked_skill(name, category)
    with transaction():
        skill = Skill(name=name, category=category)
        db.session.add(skill)
    return skill


def update_skill(skill: Skill, *, name: str | None = None, category: str | None = None) -> Skill:
    """Rename a skill or move it to another category; what is left out keeps its value.

    Technicians' levels point at the skill itself and follow a rename; asset types' default
    skills and dispatches' required skills hold its name as text, so a rename is refused
    while any of those that still matter name it (``_refuse_rename_in_use``).
    """
    name, category = _checked_skill(skill.name if name is None else name,
                                    skill.category if category is None else category, keep=skill)
    if name != skill.name:
        _refuse_rename_in_use(skill)
    with transaction():
        skill.name = name
        skill.category = category
    return skill


def _refuse_rename_in_use(skill: Skill) -> None:
    """Asset types and dispatches name a skill by its text: renaming one they still name
    would leave them asking for a skill nobody has."""
    from app.models import AssetType, Dispatch, DispatchStatus

    types = db.session.scalars(select(AssetType.name).where(same_text(AssetType.default_skill, skill.name))
                               .order_by(AssetType.name).limit(3)).all()
    if types:
        raise ValidationError(f"The asset type(s) {', '.join(types)} default to {skill.name!r}; give them another "
                              "default skill before renaming it (the category can change now).", field="name")
    open_count = db.session.scalar(select(func.count(Dispatch.id)).where(
        same_text(Dispatch.required_skill, skill.name),
        Dispatch.status.not_in((DispatchStatus.COMPLETED.value, DispatchStatus.CANCELLED.value))))
    if open_count:
        raise ValidationError(f"{open_count} open dispatch(es) require {skill.name!r}; rename it once they are "
                              "finished (the category can change now).", field="name")


def find_skill(skill_id: int) -> Skill:
    skill = db.session.get(Skill, skill_id)
    if skill is None:
        raise NotFound(f"There is no skill #{skill_id}.")
    return skill


def skill_page(*, search: str | None = None, category: str | None = None, page: int = 1,
               per_page: int = 25) -> Page:
    """The skill catalogue by name, narrowed by a text in the name and an exact category."""
    conditions = []
    if (search or "").strip():
        conditions.append(contains_text(Skill.name, search.strip()))
    if (category or "").strip():
        conditions.append(same_text(Skill.category, category.strip()))
    total = db.session.scalar(select(func.count(Skill.id)).where(*conditions)) or 0
    rows = db.session.scalars(select(Skill).where(*conditions).order_by(Skill.name, Skill.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)


def set_skill(technician: User, skill_name: str, level: int) -> TechnicianSkill:
    if not 1 <= int(level) <= 5:
        raise ValidationError(f"A skill level is 1 to 5, not {level}.", field="level")
    text_rules.check_text(skill_name, label="The skill", limit=None, multiline=False, field="skill")
    skill = db.session.scalar(select(Skill).where(same_text(Skill.name, (skill_name or "").strip())))
    if skill is None:
        raise ValidationError(f"There is no skill {skill_name!r}; add it first.", field="skill")
    profile = db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == technician.id))
    if profile is None:
        raise ValidationError(f"{technician.name} has no technician profile yet; create it first.")
    with transaction():
        held = db.session.scalar(select(TechnicianSkill).where(
            TechnicianSkill.technician_profile_id == profile.id, TechnicianSkill.skill_id == skill.id))
        if held is None:
            held = TechnicianSkill(profile=profile, skill=skill, level=int(level))
            db.session.add(held)
        else:
            held.level = int(level)
    return held


# --- Availability and skills (admin) -----------------------------------------------------


def deactivate_profile(technician: User, reason: str, until=None) -> list:
    """Take a technician out of matching: unavailable, their dispatches not started rerouted."""
    from app.services import matching

    return matching.mark_unavailable(technician, reason, until)


def reactivate_profile(technician: User) -> None:
    """Make a technician available to matching again."""
    from app.services import matching

    matching.mark_available(technician)


def held_skill(technician: User, skill_id: int) -> TechnicianSkill:
    """The technician's level in a skill, or NotFound when they do not hold it."""
    held = db.session.scalar(
        select(TechnicianSkill).join(TechnicianProfile, TechnicianSkill.technician_profile_id == TechnicianProfile.id)
        .where(TechnicianProfile.user_id == technician.id, TechnicianSkill.skill_id == skill_id)
        .options(selectinload(TechnicianSkill.skill)))
    if held is None:
        raise NotFound(f"{technician.name} does not hold that skill.")
    return held


def remove_skill(technician: User, skill_id: int) -> None:
    held = held_skill(technician, skill_id)
    with transaction():
        db.session.delete(held)


# --- Reading (the API's technician list) -----------------------------------------------------


def find_technician(user_id: int) -> User:
    """A technician by id (the system user and other roles are not technicians: 404)."""
    user = db.session.get(User, user_id)
    if user is None or user.is_system or user.role != Role.TECHNICIAN:
        raise NotFound(f"There is no technician #{user_id}.")
    return user


def profile_of(technician: User) -> TechnicianProfile | None:
    """The technician's profile with their skills (two queries), or None before one is saved."""
    return db.session.scalar(select(TechnicianProfile).where(TechnicianProfile.user_id == technician.id)
                             .options(selectinload(TechnicianProfile.skills).joinedload(TechnicianSkill.skill)))


def technician_page(*, active: bool | None = None, availability: str | None = None, skill_id: int | None = None,
                    search: str | None = None, page: int = 1, per_page: int = 25) -> Page:
    """Technicians by name, each as ``(user, profile or None)`` with the profile's skills: a count,
    the page and two loads of profiles and skills, whatever the number of technicians.

    ``availability`` and ``skill_id`` keep only technicians whose profile says so.
    """
    conditions = [User.role == Role.TECHNICIAN.value, User.is_system.is_(False)]
    if active is not None:
        conditions.append(User.is_active_user.is_(active))
    if availability is not None:
        conditions.append(User.id.in_(select(TechnicianProfile.user_id)
                                      .where(TechnicianProfile.availability == availability)))
    if skill_id is not None:
        conditions.append(User.id.in_(
            select(TechnicianProfile.user_id).join(TechnicianSkill,
                                                   TechnicianSkill.technician_profile_id == TechnicianProfile.id)
            .where(TechnicianSkill.skill_id == skill_id)))
    if (search or "").strip():
        text = search.strip()
        conditions.append(contains_text(User.name, text) | contains_text(User.email, text))
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    users = db.session.scalars(select(User).where(*conditions).order_by(User.name, User.id)
                               .limit(per_page).offset((page - 1) * per_page)).all()
    profiles = {profile.user_id: profile for profile in db.session.scalars(
        select(TechnicianProfile).where(TechnicianProfile.user_id.in_([u.id for u in users] or [0]))
        .options(selectinload(TechnicianProfile.skills).joinedload(TechnicianSkill.skill)))}
    return Page(items=[(user, profiles.get(user.id)) for user in users], page=page, per_page=per_page, total=total)


# --- Positions shared from a technician's device -------------------------------------------

#: How far ahead of the server's clock a device's time may be and still be believed.
POSITION_CLOCK_SKEW = timedelta(minutes=2)
#: Positions older than this are refused, and a technician's older rows are pruned.
POSITION_MAX_AGE = timedelta(days=1)
#: A fix vaguer than this (metres) says nothing useful about who is nearest.
POSITION_MAX_ACCURACY_M = 100_000.0


def _number(value, label: str, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{label} must be a number, not {value!r}.", field=field)
    if not math.isfinite(value):
        raise ValidationError(f"{label} must be a finite number, not {value}.", field=field)
    return float(value)


def report_position(user: User, latitude, longitude, accuracy_m, reported_at: datetime) -> TechnicianPosition:
    """Record where a technician's device says they are; the matching engine measures from it.

    Only a technician reports, and only their own position. Latitude −90…90, longitude
    −180…180, accuracy 0…100 km (or unknown), and the device's time neither in the future
    (beyond ``POSITION_CLOCK_SKEW``) nor older than a day. Refused input changes nothing;
    every problem is named at once. Rows of this technician older than a day are pruned.
    """
    if user.role != Role.TECHNICIAN or user.is_system or not user.is_active_user:
        raise PermissionDenied(f"{user.name} is not an active technician; only technicians share their location.")
    if actors.current_actor_id() != user.id:
        raise PermissionDenied(f"Only {user.name} can share {user.name}'s location.")
    now = utcnow()
    problems = Problems()
    lat = problems.check(_number, latitude, "Latitude", "latitude")
    lon = problems.check(_number, longitude, "Longitude", "longitude")
    accuracy = None if accuracy_m is None else problems.check(_number, accuracy_m, "Accuracy", "accuracy_m")
    if lat is not None and not -90 <= lat <= 90:
        problems.errors.append(ValidationError(f"Latitude {lat} is outside -90 to 90.", field="latitude"))
    if lon is not None and not -180 <= lon <= 180:
        problems.errors.append(ValidationError(f"Longitude {lon} is outside -180 to 180.", field="longitude"))
    if accuracy is not None and not 0 <= accuracy <= POSITION_MAX_ACCURACY_M:
        problems.errors.append(ValidationError(
            f"Accuracy {accuracy:g} m is outside 0 to {POSITION_MAX_ACCURACY_M:,.0f} m; share the location again "
            "when the device has a better fix.", field="accuracy_m"))
    if not isinstance(reported_at, datetime) or reported_at.tzinfo is None:
        problems.errors.append(ValidationError(
            "The time the position was taken must be a date and time with its time zone.", field="reported_at"))
    elif reported_at > now + POSITION_CLOCK_SKEW:
        problems.errors.append(ValidationError(
            f"The position's time ({reported_at:%Y-%m-%d %H:%M:%S} UTC) is in the future; check the device's clock.",
            field="reported_at"))
    elif reported_at < now - POSITION_MAX_AGE:
        problems.errors.append(ValidationError(
            "The position is more than a day old; share the current location instead.", field="reported_at"))
    problems.raise_any()
    with transaction():
        db.session.execute(delete(TechnicianPosition).where(
            TechnicianPosition.technician_id == user.id, TechnicianPosition.reported_at < now - POSITION_MAX_AGE))
        position = TechnicianPosition(technician_id=user.id, latitude=lat, longitude=lon, accuracy_m=accuracy,
                                      reported_at=reported_at, received_at=now)
        db.session.add(position)
    return position


def last_position(user: User) -> TechnicianPosition | None:
    """The technician's latest shared position, fresh or not (one query on the index)."""
    return db.session.scalar(
        select(TechnicianPosition).where(TechnicianPosition.technician_id == user.id)
        .order_by(TechnicianPosition.reported_at.desc(), TechnicianPosition.id.desc()).limit(1))
