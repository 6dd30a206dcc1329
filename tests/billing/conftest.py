"""Payments are made for box office sales: the billing tests buy tickets with the box office
fixtures (a manager, a viewer, a cinema with a hall, and a showtime tomorrow evening)."""

from __future__ import annotations

from tests.boxoffice.conftest import cinema, hall, manager, movie_id, showtime, viewer

__all__ = ["cinema", "hall", "manager", "movie_id", "showtime", "viewer"]
