"""What every staff page shares: its section in the staff navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse

from kino.identity.models import Role
from kino.web.context import Web


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    href: str
    admins_only: bool = False


SECTIONS = (
    Section("overview", "Overview", "/admin"),
    Section("films", "Films", "/admin/movies"),
    Section("people", "People", "/admin/people"),
    Section("genres", "Genres", "/admin/genres"),
    Section("jobs", "Jobs", "/admin/jobs"),
    Section("users", "Users", "/admin/users", admins_only=True),
)


def sections_for(web: Web) -> list[Section]:
    is_admin = web.user is not None and web.user.role is Role.ADMIN
    return [section for section in SECTIONS if is_admin or not section.admins_only]


def render_admin(
    web: Web, template: str, section: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    """A staff page, with ``section`` marked current in the staff navigation."""
    context = {"section": section, "admin_sections": sections_for(web), **context}
    return web.render(template, context, status=status)
