"""Links that open a location in the phone's map app (the technician's way to the job)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

OSM_SEARCH = "https://www.openstreetmap.org/search"


def map_url(location) -> str | None:
    """``geo:LAT,LON?q=LAT,LON(Name)`` when the location has coordinates (Android and most
    phone map apps open it), else an OpenStreetMap search for its address, else None.

    ``location`` is a :class:`~app.models.MajorLocation` (or anything with ``name``,
    ``address``, ``latitude`` and ``longitude``).
    """
    if location is None:
        return None
    latitude, longitude = location.latitude, location.longitude
    if latitude is not None and longitude is not None:
        point = f"{_degrees(latitude)},{_degrees(longitude)}"
        label = quote(location.name or "", safe="")
        return f"geo:{point}?q={point}({label})" if label else f"geo:{point}?q={point}"
    if location.address and location.address.strip():
        return f"{OSM_SEARCH}?{urlencode({'query': location.address.strip()})}"
    return None


def _degrees(value: float) -> str:
    """Six decimals (about 10 cm) without trailing zeros: 53.8 → "53.8", -1.549 → "-1.549"."""
    return f"{value:.6f}".rstrip("0").rstrip(".")
