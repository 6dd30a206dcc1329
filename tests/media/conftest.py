"""Media tests also run the transcode through real `kino worker` processes."""

from tests.jobs.workers import (  # noqa: F401 - fixtures
    broker_url,
    celery_app,
    celery_settings,
    start_worker,
)
