"""``GET /api/v1/search``: films and people for a query."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["search"])
