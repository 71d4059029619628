"""Built-in distance provider: great-circle (Haversine) distance, travel time at a set speed."""

from __future__ import annotations

import numpy as np

from app.plugins import hookimpl

EARTH_RADIUS_KM = 6371.0088


class HaversineProvider:
    """Straight-line distances; a routing-service plugin can replace it with road distances."""

    name = "haversine"

    def distances(
        self, origin: tuple[float, float], latitudes: np.ndarray, longitudes: np.ndarray, speed_kmh: float
    ) -> tuple[np.ndarray, np.ndarray]:
        lat1, lon1 = np.radians(origin[0]), np.radians(origin[1])
        lat2, lon2 = np.radians(latitudes), np.radians(longitudes)
        a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
        km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
        return km, km / speed_kmh


@hookimpl(trylast=True)
def motorpool_distance_provider():
    return HaversineProvider()
