"""How pages show a moment: one filter, so every page names the zone the same way.

Stored times are UTC. ``display_zone()`` decides which zone a page shows them in; every
template renders a datetime through the ``local_time`` filter, never ``strftime``.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from flask import Flask

#: Named formats; templates pick one by name so the look stays consistent.
FORMATS = {
    "datetime": "%Y-%m-%d %H:%M",
    "short": "%d %b %H:%M",
    "seconds": "%Y-%m-%d %H:%M:%S",
    "date": "%Y-%m-%d",
}


def display_zone() -> tzinfo:
    """The zone the current request shows times in."""
    return UTC


def local_time(moment: datetime | None, style: str = "datetime", *, zone_name: bool = True, empty: str = "") -> str:
    """``moment`` in the display zone, in the named format, followed by the zone's abbreviation."""
    if moment is None:
        return empty
    if moment.tzinfo is None:  # naive values are UTC by the storage rule
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(display_zone())
    text = local.strftime(FORMATS[style])
    return f"{text} {local.tzname()}" if zone_name and style != "date" else text


def register(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
