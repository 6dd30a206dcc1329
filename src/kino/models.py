"""Imports every domain's models so that ``Base.metadata`` knows all tables (Alembic, tests)."""

from __future__ import annotations


def load_all_models() -> None:
    import kino.billing.models
    import kino.boxoffice.models
    import kino.boxoffice.sales_models
    import kino.catalog.models
    import kino.community.models
    import kino.identity.models
    import kino.jobs.models
    import kino.media.models
    import kino.playback.models  # noqa: F401
