"""Catalog endpoints: movies, people, genres."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
