"""Media tests: quick job heartbeats (a cancel reaches a running encode at once), and real
`kino worker` processes for the distributed transcode."""

import pytest

from kino.settings import Settings
from tests.jobs.conftest import QUICK_JOBS
from tests.jobs.workers import (  # noqa: F401 - fixtures
    broker_url,
    celery_app,
    celery_settings,
    start_worker,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update=QUICK_JOBS)
