"""Moments in people's own time zones: which zone applies, and converting to and from it.

Motorpool stores every moment in UTC. People see and type them in a zone: their own
(``users.time_zone``) when they chose one, else the organisation's (``MOTORPOOL_TIMEZONE``).
This module is the one place that decides the zone and converts; the ``local_time`` page
filter, server-side messages, forms and the matching service's shift arithmetic all use it.

Wall-clock times a person types are read by one rule (``to_utc``): a time that does not
exist because the clocks jump forward is refused with what to type instead; a time that
happens twice because the clocks go back is read as its first occurrence (the earlier
instant, still on summer time, ``fold=0``), the way the zone database does by default.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, has_app_context, has_request_context

from app.services.errors import ValidationError

#: Named formats; pages and messages pick one by name so the look stays consistent.
FORMATS = {
    "datetime": "%Y-%m-%d %H:%M",
    "short": "%d %b %H:%M",
    "seconds": "%Y-%m-%d %H:%M:%S",
    "date": "%Y-%m-%d",
}

#: The value of a datetime-local input, and how it is written back.
INPUT_FORMAT = "%Y-%m-%dT%H:%M"


@cache
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name Python knows (system tzdata or the ``tzdata`` package), sorted."""
    return tuple(sorted(name for name in available_timezones() if "/" in name or name == "UTC"))


def parse_zone(name: str | None) -> ZoneInfo:
    """The zone called ``name``; raises ``ValueError`` for a name that is not an IANA zone."""
    text = (name or "").strip()
    # ZoneInfo also opens relative paths and odd spellings; only the listed names count.
    if text not in zone_names():
        raise ValueError(text)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):  # pragma: no cover - listed names load
        raise ValueError(text) from None


def check_zone_name(name: str | None, *, field: str = "time_zone") -> str | None:
    """``name`` as stored for a user's zone: ``None`` for empty (the organisation's), else a known zone."""
    text = (name or "").strip()
    if not text:
        return None
    try:
        parse_zone(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a time zone; choose one from the list, written like Europe/Berlin or "
            "America/New_York, or leave it empty to use the organisation's.",
            field=field,
        ) from None
    return text


def organisation_zone() -> ZoneInfo:
    """The organisation's zone (``MOTORPOOL_TIMEZONE``, checked at start-up); UTC outside an app."""
    if not has_app_context():
        return ZoneInfo("UTC")
    return _zone(current_app.config.get("MOTORPOOL_TIMEZONE") or "UTC")


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def zone_named(name: str | None) -> ZoneInfo:
    """The zone a stored name stands for: empty (or a name tzdata no longer has) is the organisation's."""
    if name:
        try:
            return _zone(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return organisation_zone()


def offset_change_minutes(local_now: datetime, end_minutes: int, *, tomorrow: bool) -> float:
    """How many minutes the zone's UTC offset grows between ``local_now`` and the wall time
    ``end_minutes`` past midnight of its day (or the next day): what a clock change adds."""
    day = local_now.date()
    if tomorrow:
        day = day + timedelta(days=1)
    wall = datetime(day.year, day.month, day.day, end_minutes // 60, end_minutes % 60, tzinfo=local_now.tzinfo)
    # A skipped end time (fold 0) takes the offset before the change, like to_utc's instant.
    return (wall.utcoffset() - local_now.utcoffset()).total_seconds() / 60


def zone_of(user) -> ZoneInfo:
    """The zone ``user`` sees and types times in: their own, else the organisation's."""
    return zone_named(getattr(user, "time_zone", None) if user is not None else None)


def current_zone() -> ZoneInfo:
    """The zone of the signed-in user of this request, else the organisation's."""
    if has_request_context():
        from flask_login import current_user

        if current_user and current_user.is_authenticated:
            return zone_of(current_user)
    return organisation_zone()


def zone_label(zone: tzinfo | None = None) -> str:
    """How a label names the zone: its IANA name, e.g. "Europe/Berlin"."""
    zone = zone or current_zone()
    return getattr(zone, "key", None) or str(zone)


def to_local(moment: datetime, zone: tzinfo | None = None) -> datetime:
    """``moment`` (aware, or naive UTC by the storage rule) as wall-clock time in ``zone``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone or current_zone())


def format_local(moment: datetime | None, style: str = "datetime", *, zone: tzinfo | None = None,
                 zone_name: bool = True, empty: str = "") -> str:
    """``moment`` in ``zone`` (default: the current one) in the named format, with the zone's abbreviation."""
    if moment is None:
        return empty
    local = to_local(moment, zone)
    text = local.strftime(FORMATS[style])
    return f"{text} {local.tzname()}" if zone_name and style != "date" else text


def input_value(moment: datetime | None, zone: tzinfo | None = None) -> str:
    """``moment`` as a datetime-local input shows it, in ``zone`` (seconds only when it has them)."""
    if moment is None:
        return ""
    local = to_local(moment, zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second or local.microsecond else INPUT_FORMAT)


def exists(wall: datetime, zone: tzinfo) -> bool:
    """Whether the naive wall-clock time ``wall`` happens in ``zone`` (not skipped by a jump forward)."""
    there = wall.replace(tzinfo=zone)
    return there.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


def to_utc(wall: datetime, zone: tzinfo | None = None, *, label: str = "The time", field: str | None = None) -> datetime:
    """The UTC instant of wall-clock time ``wall`` in ``zone``; an aware ``wall`` is only converted.

    A time the zone skips (clocks jump forward) is refused; a repeated one (clocks go back)
    is its first occurrence.
    """
    if wall.tzinfo is not None and wall.utcoffset() is not None:
        return wall.astimezone(UTC)
    zone = zone or current_zone()
    wall = wall.replace(fold=0)
    if not exists(wall, zone):
        after = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
        raise ValidationError(
            f"{label} {wall:%Y-%m-%d %H:%M} does not exist in {zone_label(zone)}: the clocks jump forward "
            f"then; enter a time after the change, such as {after:%H:%M}.",
            field=field,
        )
    return wall.replace(tzinfo=zone).astimezone(UTC)


def start_of_day(day, zone: tzinfo | None = None) -> datetime:
    """The UTC instant local ``day`` begins in ``zone`` (default: the organisation's).

    A midnight the clocks skip becomes the moment of the jump (fold 0 takes the offset
    before it), so consecutive days always touch and a run of days covers every instant.
    Raises ``OverflowError`` for the first or last representable days.
    """
    return datetime.combine(day, datetime.min.time(), tzinfo=zone or organisation_zone()).astimezone(UTC)
