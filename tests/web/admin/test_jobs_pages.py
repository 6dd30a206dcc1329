"""The staff jobs list: status, stage, progress, attempts and errors, filtered by status and
paged, with cancel and retry through forms."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from kino.jobs.models import Job, JobStatus
from kino.web.admin import jobs_pages
from tests.factories import SignedIn
from tests.jobs.support import enqueue, load_job
from tests.web.conftest import create_movie, post_form, sign_in


async def set_job(app: FastAPI, job_id: int, **values: Any) -> None:
    async with app.state.db.transaction() as session:
        await session.execute(update(Job).where(Job.id == job_id).values(**values))


def listed_jobs(page: httpx.Response) -> list[int]:
    return [int(number) for number in re.findall(r'<tr id="job-(\d+)">', page.text)]


async def test_a_signed_out_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/jobs?status=failed")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/jobs%3Fstatus%3Dfailed"


async def test_a_viewer_gets_the_forbidden_page(
    app: FastAPI, client: httpx.AsyncClient, viewer: SignedIn
) -> None:
    job_id = await enqueue(app, "media.transcode")
    await sign_in(client, viewer)

    assert (await client.get("/admin/jobs")).status_code == 403
    cancel = await post_form(client, f"/admin/jobs/{job_id}/cancel")
    assert cancel.status_code == 403
    assert "This page is for staff." in cancel.text
    assert (await load_job(app, job_id)).status is JobStatus.QUEUED


async def test_a_manager_sees_each_job_with_its_film_stage_progress_and_error(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Harbour Lights", status="draft")
    running = await enqueue(app, "media.transcode", movie_id=film)
    await set_job(app, running, status=JobStatus.RUNNING, stage="encode", progress=42.5, attempts=1)
    failed = await enqueue(app, "media.transcode", movie_id=film)
    await set_job(app, failed, status=JobStatus.FAILED, error="The file has no video stream.")
    await sign_in(client, manager)

    page = await client.get("/admin/jobs")

    assert page.status_code == 200
    assert listed_jobs(page) == [failed, running]  # newest first
    assert f'href="/admin/movies/{film}/media">Harbour Lights</a>' in page.text
    assert "42% · Encoding every quality" in page.text
    assert "The file has no video stream." in page.text
    assert f'action="/admin/jobs/{running}/cancel"' in page.text
    assert f'action="/admin/jobs/{failed}/retry"' in page.text
    assert f'action="/admin/jobs/{failed}/cancel"' not in page.text


@pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.RUNNING])
async def test_the_list_is_filtered_by_status(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn, status: JobStatus
) -> None:
    wanted = await enqueue(app, "media.transcode")
    await set_job(app, wanted, status=status)
    await enqueue(app, "media.transcode")
    await sign_in(client, manager)

    page = await client.get(f"/admin/jobs?status={status.value}")

    assert listed_jobs(page) == [wanted]
    assert f'href="/admin/jobs?status={status.value}" aria-current="page"' in page.text


async def test_an_unknown_status_or_page_is_the_not_found_page(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await sign_in(client, manager)

    assert (await client.get("/admin/jobs?status=lost")).status_code == 404
    assert (await client.get("/admin/jobs?page=0")).status_code == 404


async def test_the_list_is_paged(
    app: FastAPI,
    client: httpx.AsyncClient,
    manager: SignedIn,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(jobs_pages, "PAGE_SIZE", 2)
    ids = [await enqueue(app, "media.transcode") for _ in range(3)]
    await sign_in(client, manager)

    first = await client.get("/admin/jobs")
    second = await client.get("/admin/jobs?page=2")

    assert listed_jobs(first) == [ids[2], ids[1]]
    assert listed_jobs(second) == [ids[0]]
    assert 'href="?page=2"' in first.text


async def test_cancel_through_the_form_returns_to_the_list(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    job_id = await enqueue(app, "media.transcode")
    await sign_in(client, manager)

    answer = await post_form(
        client, f"/admin/jobs/{job_id}/cancel", {"next": "/admin/jobs?status=queued"}
    )

    assert (answer.status_code, answer.headers["location"]) == (303, "/admin/jobs?status=queued")
    assert (await load_job(app, job_id)).status is JobStatus.CANCELLED


async def test_a_running_job_asked_to_cancel_shows_cancelling(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    job_id = await enqueue(app, "media.transcode")
    await set_job(app, job_id, status=JobStatus.RUNNING)
    await sign_in(client, manager)

    await post_form(client, f"/admin/jobs/{job_id}/cancel")
    page = await client.get("/admin/jobs")

    assert (await load_job(app, job_id)).cancel_requested
    assert ">Cancelling</span>" in page.text
    assert f'action="/admin/jobs/{job_id}/cancel"' not in page.text


async def test_retry_through_the_form_queues_a_failed_job_again(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    job_id = await enqueue(app, "media.transcode")
    await set_job(app, job_id, status=JobStatus.FAILED, error="boom", attempts=3)
    await sign_in(client, manager)

    answer = await post_form(client, f"/admin/jobs/{job_id}/retry", {"next": "https://evil.test/"})

    assert (answer.status_code, answer.headers["location"]) == (303, "/admin/jobs")
    job = await load_job(app, job_id)
    assert (job.status, job.attempts, job.error) == (JobStatus.QUEUED, 0, None)


async def test_a_job_that_cannot_be_cancelled_or_retried_explains_why(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    job_id = await enqueue(app, "media.transcode")
    await set_job(app, job_id, status=JobStatus.SUCCEEDED)
    await sign_in(client, manager)

    cancel = await post_form(client, f"/admin/jobs/{job_id}/cancel")
    retry = await post_form(client, f"/admin/jobs/{job_id}/retry")

    assert cancel.status_code == 409
    assert "there is nothing to cancel" in cancel.text
    assert retry.status_code == 409
    assert "only failed or cancelled jobs are retried" in retry.text


async def test_an_unknown_job_is_the_not_found_page(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await sign_in(client, manager)

    answer = await post_form(client, "/admin/jobs/999999/retry")

    assert answer.status_code == 404
    assert "There is no job 999999." in answer.text


async def test_a_form_without_the_csrf_token_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    job_id = await enqueue(app, "media.transcode")
    await sign_in(client, manager)

    answer = await client.post(f"/admin/jobs/{job_id}/cancel", data={"csrf_token": "forged"})

    assert answer.status_code == 403
    assert (await load_job(app, job_id)).status is JobStatus.QUEUED
