"""Distributed mode: the transcode runs in real `kino worker` processes (Celery on Redis), and a
worker killed in the middle of an encode is replaced by one that finishes the film."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from kino.identity.models import Role
from kino.jobs.models import JobStatus
from kino.media.models import AssetKind, AssetState
from tests.factories import make_user
from tests.jobs.support import wait_for_job, wait_until_finished
from tests.jobs.workers import WorkerStarter, kill_worker
from tests.media.clips import make_clip
from tests.media.test_transcode import asset_prefixes, assets_of, attach, make_movie, stored_upload


@pytest.fixture
async def celery_client(celery_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=celery_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://kino.test") as client:
        yield client


async def test_a_killed_worker_is_replaced_and_the_film_is_published_once(
    celery_app: FastAPI,
    celery_client: httpx.AsyncClient,
    start_worker: WorkerStarter,
    tmp_path: Path,
) -> None:
    manager = await make_user(celery_app, role=Role.MANAGER)
    source = make_clip(tmp_path, seconds=30, width=640, height=360, audio_streams=1)
    movie_id = await make_movie(celery_client, manager)
    first = start_worker()
    job_id = await attach(
        celery_client, manager, movie_id, await stored_upload(celery_app, manager, source)
    )
    await wait_for_job(celery_app, job_id, lambda job: job.stage == "encode", what="encoding")

    kill_worker(first)
    start_worker()
    job = await wait_until_finished(celery_app, job_id)

    assert job.status is JobStatus.SUCCEEDED, job.error
    assert job.attempts == 2
    assets = await assets_of(celery_app, movie_id)
    published = [asset for asset in assets if asset.state is AssetState.PUBLISHED]
    assert [asset.kind for asset in published] == [AssetKind.LADDER]
    # The remux of the first attempt stays (retired); nothing else is left in storage.
    assert await asset_prefixes(celery_app) == {asset.id for asset in assets}
    media = (await celery_client.get(f"/api/v1/movies/{movie_id}/media")).json()
    assert media["asset_id"] == published[0].id
