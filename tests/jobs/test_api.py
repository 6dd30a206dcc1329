"""The jobs API: who sees which jobs, paging and filters, cancel and retry, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from kino.identity.models import Role
from kino.jobs.models import Job, JobStatus
from kino.jobs.queue import EmbeddedJobQueue
from tests.factories import SignedIn, make_user
from tests.jobs.sample_jobs import traced
from tests.jobs.support import enqueue, load_job, wait_for_status, wait_until_finished

JOBS = "/api/v1/jobs"
JOB_FIELDS = {
    "id",
    "kind",
    "status",
    "stage",
    "progress",
    "eta_seconds",
    "attempts",
    "max_attempts",
    "error",
    "cancel_requested",
    "movie_id",
    "created_at",
    "started_at",
    "finished_at",
    "updated_at",
}


@pytest.fixture
async def manager(app: FastAPI) -> SignedIn:
    return await make_user(app, role=Role.MANAGER)


@pytest.fixture
async def viewer(app: FastAPI) -> SignedIn:
    return await make_user(app)


async def make_movie(client: httpx.AsyncClient, staff: SignedIn, title: str) -> int:
    response = await client.post("/api/v1/movies", headers=staff.headers, json={"title": title})
    assert response.status_code == 201, response.text
    movie_id: int = response.json()["id"]
    return movie_id


async def set_status(app: FastAPI, job_id: int, status: JobStatus, **values: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(status=status, **values))


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


async def test_listing_jobs_needs_a_manager(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    moderator = await make_user(app, role=Role.MODERATOR)

    assert (await client.get(JOBS)).status_code == 401
    answer = await client.get(JOBS, headers=viewer.headers)
    assert answer.status_code == 403
    assert error_code(answer) == "forbidden"
    assert (await client.get(JOBS, headers=moderator.headers)).status_code == 403


async def test_managers_list_jobs_newest_first_in_pages_with_filters(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    movie_id = await make_movie(client, manager, "Stalker")
    first = await enqueue(app, "test.steps", movie_id=movie_id)
    second = await enqueue(app, "test.flaky", {"succeed_on": 1})
    third = await enqueue(app, "test.steps", movie_id=movie_id)
    await set_status(app, first, JobStatus.FAILED, error="broken")

    page = (await client.get(JOBS, headers=manager.headers, params={"page_size": 2})).json()
    assert (page["total"], page["page"], page["page_size"]) == (3, 1, 2)
    assert [item["id"] for item in page["items"]] == [third, second]
    assert set(page["items"][0]) == JOB_FIELDS
    rest = await client.get(JOBS, headers=manager.headers, params={"page_size": 2, "page": 2})
    assert [item["id"] for item in rest.json()["items"]] == [first]

    async def ids(**filters: Any) -> list[int]:
        answer = await client.get(JOBS, headers=manager.headers, params=filters)
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert await ids(status="failed") == [first]
    assert await ids(status="queued") == [third, second]
    assert await ids(movie_id=movie_id) == [third, first]
    assert await ids(kind="test.flaky") == [second]
    assert await ids(kind="test.steps", status="queued") == [third]
    assert await ids(movie_id=movie_id + 1000) == []


async def test_a_job_is_seen_by_staff_and_its_creator_only(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    stranger = await make_user(app)
    job_id = await enqueue(app, "test.steps", created_by_id=viewer.user.id)

    own = await client.get(f"{JOBS}/{job_id}", headers=viewer.headers)
    assert own.status_code == 200
    assert own.json()["id"] == job_id
    assert own.json()["status"] == "queued"
    assert (await client.get(f"{JOBS}/{job_id}", headers=manager.headers)).status_code == 200
    for path in (f"{JOBS}/{job_id}", f"{JOBS}/{job_id}/cancel", f"{JOBS}/{job_id}/retry"):
        call = client.get if path.endswith(str(job_id)) else client.post
        answer = await call(path, headers=stranger.headers)
        assert answer.status_code == 404, path
        assert error_code(answer) == "not_found"
    assert (await client.get(f"{JOBS}/{job_id}")).status_code == 401
    assert (await load_job(app, job_id)).status == JobStatus.QUEUED


@pytest.mark.parametrize(
    "path",
    [
        f"{JOBS}/0",
        f"{JOBS}/-1",
        f"{JOBS}/abc",
        f"{JOBS}/{2**63}",
        f"{JOBS}?status=finished",
        f"{JOBS}?page_size=101",
        f"{JOBS}?page=0",
        f"{JOBS}?movie_id=0",
        f"{JOBS}?kind=" + "k" * 65,
    ],
)
async def test_bad_ids_and_filters_are_422(
    client: httpx.AsyncClient, manager: SignedIn, path: str
) -> None:
    answer = await client.get(path, headers=manager.headers)

    assert answer.status_code == 422
    assert error_code(answer) == "validation_error"


@pytest.mark.parametrize("action", ["cancel", "retry"])
async def test_actions_on_bad_or_missing_ids(
    client: httpx.AsyncClient, manager: SignedIn, action: str
) -> None:
    assert (await client.post(f"{JOBS}/abc/{action}", headers=manager.headers)).status_code == 422
    assert (await client.post(f"{JOBS}/0/{action}", headers=manager.headers)).status_code == 422
    missing = await client.post(f"{JOBS}/999999/{action}", headers=manager.headers)
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"


async def test_cancelling_a_queued_job_cancels_it_at_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    manager: SignedIn,
    pool: EmbeddedJobQueue,
    trace: Path,
) -> None:
    # Stop the pool from taking it first: the job is enqueued while the pool is paused.
    await pool.close()
    cancelled = await enqueue(app, "test.steps", {"trace": str(trace)})
    answer = await client.post(f"{JOBS}/{cancelled}/cancel", headers=manager.headers)

    assert answer.status_code == 200
    assert answer.json()["status"] == "cancelled"
    assert answer.json()["finished_at"] is not None
    # The pool, started again, runs the next job and leaves the cancelled one alone.
    await pool.start()
    later = await enqueue(app, "test.flaky", {"succeed_on": 1})
    assert (await wait_until_finished(app, later)).status == JobStatus.SUCCEEDED
    assert (await load_job(app, cancelled)).status == JobStatus.CANCELLED
    assert traced(trace) == []


async def test_cancelling_a_running_job_stops_its_body(
    app: FastAPI,
    client: httpx.AsyncClient,
    viewer: SignedIn,
    pool: EmbeddedJobQueue,
    trace: Path,
) -> None:
    job_id = await enqueue(
        app, "test.wait_for_cancel", {"trace": str(trace)}, created_by_id=viewer.user.id
    )
    await wait_for_status(app, job_id, JobStatus.RUNNING)

    answer = await client.post(f"{JOBS}/{job_id}/cancel", headers=viewer.headers)

    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["cancel_requested"]) == ("running", True)
    job = await wait_until_finished(app, job_id)
    assert job.status == JobStatus.CANCELLED
    assert job.finished_at is not None
    assert traced(trace) == ["start 1", "stopped 1"]


async def test_a_body_that_ignores_a_cancel_is_stopped_after_the_grace_period(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, pool: EmbeddedJobQueue, trace: Path
) -> None:
    job_id = await enqueue(app, "test.ignore_cancel", {"trace": str(trace)})
    await wait_for_status(app, job_id, JobStatus.RUNNING)

    await client.post(f"{JOBS}/{job_id}/cancel", headers=manager.headers)

    job = await wait_until_finished(app, job_id)
    assert job.status == JobStatus.CANCELLED
    assert traced(trace) == ["start 1", "interrupted 1"]


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
async def test_a_finished_job_cannot_be_cancelled(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, status: JobStatus
) -> None:
    job_id = await enqueue(app, "test.steps")
    await set_status(app, job_id, status)

    answer = await client.post(f"{JOBS}/{job_id}/cancel", headers=manager.headers)

    assert answer.status_code == 409
    assert error_code(answer) == "conflict"
    assert status.value in answer.json()["error"]["message"]
    assert (await load_job(app, job_id)).status == status


@pytest.mark.parametrize("status", [JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.SUCCEEDED])
async def test_only_failed_or_cancelled_jobs_are_retried(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, status: JobStatus
) -> None:
    job_id = await enqueue(app, "test.steps")
    await set_status(app, job_id, status)

    answer = await client.post(f"{JOBS}/{job_id}/retry", headers=manager.headers)

    assert answer.status_code == 409
    assert error_code(answer) == "conflict"
    assert (await load_job(app, job_id)).status == status


async def test_a_failed_job_retried_runs_again_from_the_start(
    app: FastAPI,
    client: httpx.AsyncClient,
    manager: SignedIn,
    pool: EmbeddedJobQueue,
    trace: Path,
    tmp_path: Path,
) -> None:
    source = tmp_path / "source.mp4"
    job_id = await enqueue(app, "test.needs_file", {"trace": str(trace), "path": str(source)})
    assert (await wait_until_finished(app, job_id)).status == JobStatus.FAILED
    source.touch()

    # The pool polls rarely in these tests: the retry's commit is what wakes it.
    answer = await client.post(f"{JOBS}/{job_id}/retry", headers=manager.headers)

    assert answer.status_code == 200
    body = answer.json()
    assert (body["status"], body["attempts"], body["error"], body["progress"]) == (
        "queued",
        0,
        None,
        0,
    )
    job = await wait_until_finished(app, job_id)
    assert (job.status, job.attempts, job.error) == (JobStatus.SUCCEEDED, 1, None)
    assert traced(trace) == ["start 1", "start 1", "done 1"]
