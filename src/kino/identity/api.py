"""Identity endpoints: /auth, /users (admin), /api-keys."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["identity"])
