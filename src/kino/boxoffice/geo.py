"""Distances on the Earth for "cinemas near me": haversine, and the latitude/longitude box that
holds every point within a radius (what the database filters on before the exact distance is
worked out here, the same way on every database)."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088  # the mean radius


@dataclass(frozen=True)
class GeoPoint:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class BoundingBox:
    """Latitudes ``south``..``north``; longitudes ``west``..``east``, where ``west > east``
    means the box crosses the antimeridian (180°)."""

    south: float
    north: float
    west: float
    east: float

    @property
    def crosses_antimeridian(self) -> bool:
        return self.west > self.east


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """The great-circle distance (haversine)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(center: GeoPoint, radius_km: float) -> BoundingBox:
    """The smallest latitude/longitude box holding every point within ``radius_km``."""
    angle = radius_km / EARTH_RADIUS_KM  # the radius as an angle at the Earth's centre
    south = center.latitude - math.degrees(angle)
    north = center.latitude + math.degrees(angle)
    if south <= -90 or north >= 90 or angle >= math.pi / 2:
        # A pole is inside the circle: every longitude is.
        return BoundingBox(max(south, -90.0), min(north, 90.0), -180.0, 180.0)
    # Half the circle's widest longitude span (below 90° as no pole is inside).
    spread = math.degrees(
        math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(center.latitude))))
    )
    west, east = center.longitude - spread, center.longitude + spread
    if west < -180:
        west += 360
    if east > 180:
        east -= 360
    return BoundingBox(south, north, west, east)
