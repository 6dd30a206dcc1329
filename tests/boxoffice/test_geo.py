from __future__ import annotations

import math
import random

import pytest

from kino.boxoffice.geo import EARTH_RADIUS_KM, BoundingBox, GeoPoint, bounding_box, distance_km

BERLIN = GeoPoint(52.5200, 13.4050)
MUNICH = GeoPoint(48.1351, 11.5820)


def destination(start: GeoPoint, bearing_degrees: float, km: float) -> GeoPoint:
    """The point ``km`` from ``start`` along ``bearing_degrees`` (great circle)."""
    angle = km / EARTH_RADIUS_KM
    lat1, lon1 = math.radians(start.latitude), math.radians(start.longitude)
    bearing = math.radians(bearing_degrees)
    lat2 = math.asin(
        math.sin(lat1) * math.cos(angle) + math.cos(lat1) * math.sin(angle) * math.cos(bearing)
    )
    lon2 = lon1 + math.atan2(
        math.sin(bearing) * math.sin(angle) * math.cos(lat1),
        math.cos(angle) - math.sin(lat1) * math.sin(lat2),
    )
    longitude = (math.degrees(lon2) + 540) % 360 - 180
    return GeoPoint(math.degrees(lat2), longitude)


def inside(box: BoundingBox, point: GeoPoint) -> bool:
    if not box.south <= point.latitude <= box.north:
        return False
    if box.crosses_antimeridian:
        return point.longitude >= box.west or point.longitude <= box.east
    return box.west <= point.longitude <= box.east


def test_haversine_distances() -> None:
    assert distance_km(BERLIN, BERLIN) == 0
    assert distance_km(BERLIN, MUNICH) == pytest.approx(504.4, abs=1.0)
    assert distance_km(GeoPoint(0, 0), GeoPoint(0, 180)) == pytest.approx(math.pi * EARTH_RADIUS_KM)
    assert distance_km(GeoPoint(-16.9, 179.9), GeoPoint(-16.9, -179.9)) < 25


@pytest.mark.parametrize(
    ("center", "radius_km"),
    [
        (BERLIN, 50),
        (BERLIN, 3000),
        (GeoPoint(-18.14, 178.44), 400),  # Fiji: the circle crosses 180°
        (GeoPoint(64.1, -179.0), 800),
        (GeoPoint(89.5, 10.0), 100),  # the North Pole is inside
        (GeoPoint(-85.0, 0.0), 1000),
        (GeoPoint(0.0, 0.0), 20_000),
    ],
)
def test_the_bounding_box_holds_the_whole_circle(center: GeoPoint, radius_km: float) -> None:
    box = bounding_box(center, radius_km)
    rng = random.Random(7)
    for _ in range(500):
        point = destination(center, rng.uniform(0, 360), radius_km * rng.uniform(0, 0.999))
        assert inside(box, point), (point, box)


def test_the_bounding_box_is_tight_away_from_the_poles() -> None:
    box = bounding_box(BERLIN, 50)
    assert not box.crosses_antimeridian
    assert (box.north - box.south) == pytest.approx(2 * 50 / 111.195, rel=1e-3)
    assert box.east - box.west < 2  # degrees of longitude: about 1.47 at Berlin's latitude
    assert bounding_box(GeoPoint(-18.14, 178.44), 400).crosses_antimeridian
