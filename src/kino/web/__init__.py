"""Server-rendered pages for viewers and staff: Jinja2 templates, the site's own static files
and the npm packages it loads, the session cookie (``identity.cookies``) and HTML errors."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from kino.web.assets import STATIC_DIR, STATIC_PREFIX, warn_about_missing_vendor_files
from kino.web.security import SecurityHeadersMiddleware


def install_web(app: FastAPI) -> None:
    """Add the site to ``app``: its pages, static files, HTML errors and security headers."""
    from kino.web import (
        account_pages,
        assets,
        auth_pages,
        boxoffice_pages,
        film_page,
        pages,
        posters,
        seat_pages,
        ticket_pages,
        watch,
    )
    from kino.web.admin import install_admin
    from kino.web.errors import install_page_errors

    app.include_router(assets.router)  # before the /static mount, which would shadow it
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(posters.router)
    app.include_router(pages.router)
    app.include_router(film_page.router)
    app.include_router(watch.router)
    app.include_router(auth_pages.router)
    app.include_router(account_pages.router)
    app.include_router(boxoffice_pages.router)
    app.include_router(seat_pages.router)
    app.include_router(ticket_pages.router)
    install_admin(app)
    install_page_errors(app)
    exempt = [path for path in (app.docs_url, app.redoc_url) if path]
    app.add_middleware(SecurityHeadersMiddleware, exempt_paths=exempt)
    warn_about_missing_vendor_files()
