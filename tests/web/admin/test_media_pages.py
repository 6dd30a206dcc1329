"""A film's video page for staff: what plays now, a new video uploaded with tus in the browser
(the session cookie and the CSRF header) and attached, the processing job followed until the
film plays, cancel and retry, and subtitle tracks added and deleted."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from kino.core.db import utcnow
from kino.jobs.models import JobStatus
from kino.media.models import AssetKind, AssetState, MediaAsset, Rendition, RenditionKind
from kino.media.uploads import upload_source_key
from tests.factories import SignedIn
from tests.jobs.support import enqueue, load_job
from tests.media.uploads import CHUNK, TUS, UPLOADS, error_code, random_bytes
from tests.web.admin.test_jobs_pages import set_job
from tests.web.conftest import HTMX, create_movie, csrf_token, post_form, sign_in

SRT = b"1\n00:00:01,000 --> 00:00:04,000\nThe lamp must never go out.\n"


def media_path(film: int) -> str:
    return f"/admin/movies/{film}/media"


async def publish_video(app: FastAPI, film: int, *, vertical: bool = False) -> None:
    """A published two-rung version of the film's video, as the pipeline leaves it (a phone's
    upright picture when ``vertical``)."""
    async with app.state.db.transaction() as session:
        asset = MediaAsset(
            movie_id=film,
            kind=AssetKind.LADDER,
            state=AssetState.PUBLISHED,
            duration_seconds=95.0,
            published_at=utcnow(),
            images={"poster": "poster.jpg", "thumbnails": {"320": "poster-320.jpg"}},
        )
        session.add(asset)
        await session.flush()
        for position, height in enumerate((360, 720)):
            session.add(_rendition(asset.id, position, height, vertical=vertical))
        session.add(
            Rendition(
                asset_id=asset.id,
                kind=RenditionKind.AUDIO,
                position=2,
                playlist="audio/index.m3u8",
                codecs="mp4a.40.2",
                bandwidth=130_000,
                average_bandwidth=128_000,
                language="en",
                name="English",
            )
        )


def _rendition(asset_id: int, position: int, height: int, *, vertical: bool) -> Rendition:
    width = height * 16 // 9
    if vertical:
        width, height = height, width
    return Rendition(
        asset_id=asset_id,
        kind=RenditionKind.VIDEO,
        position=position,
        playlist=f"{height}p/index.m3u8",
        codecs="avc1.64001f",
        bandwidth=height * 4000,
        average_bandwidth=height * 3500,
        width=width,
        height=height,
        frame_rate=25.0,
    )


async def tus_upload(
    client: httpx.AsyncClient, token: str, data: bytes, **headers: str
) -> httpx.Response:
    """Create and send a whole upload in one request, as the page's script does in a browser
    (the session cookie, and the CSRF header unless ``headers`` say otherwise)."""
    sent = {**CHUNK, "Upload-Length": str(len(data)), "X-CSRF-Token": token, **headers}
    return await client.post(UPLOADS, content=data, headers=sent)


async def uploaded(client: httpx.AsyncClient, film: int, data: bytes) -> str:
    token = await csrf_token(client, media_path(film))
    response = await tus_upload(client, token, data)
    assert response.status_code == 201, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


# ---------------------------------------------------------------------------- who may


async def test_a_signed_out_visitor_is_sent_to_sign_in(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)

    response = await client.get(media_path(film))

    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={media_path(film)}"


async def test_a_viewer_gets_the_forbidden_page_and_changes_nothing(
    client: httpx.AsyncClient, manager: SignedIn, viewer: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, viewer)

    page = await client.get(media_path(film))
    poll = await client.get(f"{media_path(film)}/job")
    attach = await post_form(client, f"{media_path(film)}/video", {"upload_id": "x"})

    assert (page.status_code, poll.status_code, attach.status_code) == (403, 403, 403)
    assert "This page is for staff." in page.text


async def test_an_unknown_film_is_the_not_found_page(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    await sign_in(client, manager)

    page = await client.get(media_path(999_999))

    assert page.status_code == 404
    assert "There is no film with id 999999." in page.text


# ---------------------------------------------------------------------------- the page


async def test_a_draft_without_video_offers_the_upload(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Salt", status="draft")
    await sign_in(client, manager)

    page = await client.get(media_path(film))

    assert page.status_code == 200
    assert "<h1>Salt" in page.text
    assert "This film has no video yet." in page.text
    assert 'data-endpoint="/api/v1/uploads"' in page.text
    assert 'id="upload-bar" max="100"' in page.text
    assert "/static/js/admin-upload.js?v=" in page.text
    assert "/static/vendor/tus.min.js?v=" in page.text
    assert 'hx-trigger="every 1s"' not in page.text  # no job to follow


async def test_the_published_version_is_described(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Harbour")
    await publish_video(app, film)
    await sign_in(client, manager)

    page = await client.get(media_path(film))

    assert "1:35" in page.text
    assert "360p · 1440 kbit/s, 720p · 2880 kbit/s" in page.text
    assert "1 track" in page.text
    assert f'src="/posters/{film}/small.jpg?v=' in page.text
    assert f'href="/watch/{film}"' in page.text


async def test_a_vertical_video_is_named_by_its_short_side(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Upright")
    await publish_video(app, film, vertical=True)
    await sign_in(client, manager)

    page = await client.get(media_path(film))

    assert "360p · 2560 kbit/s, 720p · 5120 kbit/s" in page.text


# ---------------------------------------------------------------------------- uploads


async def test_the_tus_endpoint_takes_the_session_cookie_with_the_csrf_header(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)
    token = await csrf_token(client, media_path(film))
    data = random_bytes(3000)

    refused = await tus_upload(client, token, data, **{"X-CSRF-Token": ""})
    created = await client.post(
        UPLOADS, headers={**TUS, "Upload-Length": str(len(data)), "X-CSRF-Token": token}
    )
    location = created.headers["Location"]
    offset = await client.head(location, headers=TUS)  # reading needs no token
    patched = await client.patch(
        location,
        content=data,
        headers={**CHUNK, "Upload-Offset": "0", "X-CSRF-Token": token},
    )

    assert refused.status_code == 403
    assert error_code(refused) == "csrf_failed"
    assert refused.headers["Tus-Resumable"] == "1.0.0"
    assert created.status_code == 201
    assert (offset.status_code, offset.headers["Upload-Offset"]) == (200, "0")
    assert (patched.status_code, patched.headers["Upload-Offset"]) == (204, str(len(data)))
    stored = await app.state.storage.get_bytes(upload_source_key(location.rsplit("/", 1)[1]))
    assert stored == data


async def test_a_patch_with_the_cookie_but_without_the_header_is_refused(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)
    token = await csrf_token(client, media_path(film))
    created = await client.post(
        UPLOADS, headers={**TUS, "Upload-Length": "10", "X-CSRF-Token": token}
    )

    patched = await client.patch(
        created.headers["Location"], content=b"0123456789", headers={**CHUNK, "Upload-Offset": "0"}
    )
    removed = await client.delete(created.headers["Location"], headers=TUS)

    assert (patched.status_code, removed.status_code) == (403, 403)


async def test_a_viewers_cookie_cannot_upload(client: httpx.AsyncClient, viewer: SignedIn) -> None:
    await sign_in(client, viewer)
    token = await csrf_token(client, "/account")

    response = await tus_upload(client, token, b"not for you")

    assert response.status_code == 403
    assert error_code(response) == "forbidden"


async def test_attaching_an_upload_starts_the_job_and_answers_with_its_panel(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager, title="Gulls", status="draft")
    await sign_in(client, manager)
    upload_id = await uploaded(client, film, random_bytes(2000))

    panel = await post_form(
        client, f"{media_path(film)}/video", {"upload_id": upload_id}, htmx=True
    )

    assert panel.status_code == 202
    assert panel.text.lstrip().startswith('<section id="media-job"')
    assert f'hx-get="{media_path(film)}/job" hx-trigger="every 1s"' in panel.text
    job_id = int(panel.text.split("Job #", 1)[1].split("<", 1)[0].split(":", 1)[0])
    job = await load_job(app, job_id)
    assert (job.kind, job.movie_id, job.status) == ("media.transcode", film, JobStatus.QUEUED)


async def test_a_second_attach_while_one_runs_explains_the_conflict(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)
    first = await uploaded(client, film, random_bytes(100, seed=1))
    second = await uploaded(client, film, random_bytes(100, seed=2))
    await post_form(client, f"{media_path(film)}/video", {"upload_id": first}, htmx=True)

    panel = await post_form(client, f"{media_path(film)}/video", {"upload_id": second}, htmx=True)
    page = await post_form(client, f"{media_path(film)}/video", {"upload_id": second})

    assert panel.status_code == 409
    assert "is already being processed by job" in panel.text
    assert 'hx-trigger="every 1s"' in panel.text  # and the running job stays followed
    assert page.status_code == 409
    assert "is already being processed by job" in page.text
    assert "<h1>" in page.text


async def test_attaching_an_unknown_upload_explains_it(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)

    page = await post_form(client, f"{media_path(film)}/video", {"upload_id": "nope"})

    assert page.status_code == 404
    assert 'role="alert"' in page.text
    assert "<h1>Untitled" in page.text  # the film's page, with the message in place


async def test_a_plain_form_attach_returns_to_the_page(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)
    upload_id = await uploaded(client, film, random_bytes(100))

    answer = await post_form(client, f"{media_path(film)}/video", {"upload_id": upload_id})
    page = await client.get(media_path(film))

    assert (answer.status_code, answer.headers["location"]) == (303, media_path(film))
    assert "Queued" in page.text
    assert f'hx-get="{media_path(film)}/job"' in page.text


# ---------------------------------------------------------------------------- the job


async def transcode_job(app: FastAPI, film: int, **values: Any) -> int:
    job_id = await enqueue(app, "media.transcode", movie_id=film)
    if values:
        await set_job(app, job_id, **values)
    return job_id


async def test_the_job_panel_polls_while_the_job_runs(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await transcode_job(app, film, status=JobStatus.RUNNING, stage="encode", progress=61.7)
    await sign_in(client, manager)

    state = await client.get(f"{media_path(film)}/job", headers=HTMX)

    assert state.status_code == 200
    assert "Encoding every quality" in state.text
    assert '<progress id="job-progress-bar" max="100" value="61">' in state.text
    assert "Cancel</button>" in state.text
    assert 'id="published"' not in state.text


async def test_a_finished_job_stops_the_polling_and_shows_the_new_version(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await transcode_job(app, film, status=JobStatus.SUCCEEDED, progress=100.0)
    await publish_video(app, film)
    await sign_in(client, manager)

    state = await client.get(f"{media_path(film)}/job", headers=HTMX)

    assert state.status_code == 286  # htmx stops polling
    assert f'Ready — <a href="/watch/{film}">watch it</a>' in state.text
    assert '<section id="published"' in state.text
    assert 'hx-swap-oob="true"' in state.text
    assert "720p" in state.text


async def test_a_failed_job_shows_its_error_and_can_be_retried_from_the_page(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    job_id = await transcode_job(
        app, film, status=JobStatus.FAILED, error="This is not a video: no video stream."
    )
    await sign_in(client, manager)

    page = await client.get(media_path(film))
    retried = await post_form(client, f"/admin/jobs/{job_id}/retry", {"next": media_path(film)})

    assert "This is not a video: no video stream." in page.text
    assert f'action="/admin/jobs/{job_id}/retry"' in page.text
    assert (retried.status_code, retried.headers["location"]) == (303, media_path(film))
    assert (await load_job(app, job_id)).status is JobStatus.QUEUED


async def test_a_running_job_is_cancelled_from_the_page(
    app: FastAPI, client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    job_id = await transcode_job(app, film, status=JobStatus.RUNNING, stage="probe")
    await sign_in(client, manager)

    page = await client.get(media_path(film))
    await post_form(client, f"/admin/jobs/{job_id}/cancel", {"next": media_path(film)})
    after = await client.get(media_path(film))

    assert f'action="/admin/jobs/{job_id}/cancel"' in page.text
    assert (await load_job(app, job_id)).cancel_requested
    assert "Stopping at the next step" in after.text


# ---------------------------------------------------------------------------- subtitles


async def post_subtitles(
    client: httpx.AsyncClient, film: int, raw: bytes | None, **fields: str
) -> httpx.Response:
    token = await csrf_token(client, media_path(film))
    files = {"file": ("track.srt", raw, "application/x-subrip")} if raw is not None else None
    data = {"csrf_token": token, "language": "en", **fields}
    return await client.post(f"{media_path(film)}/subtitles", data=data, files=files)


async def test_subtitles_are_added_listed_and_deleted(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)

    added = await post_subtitles(client, film, SRT, language="pt_br", label="Português")
    listed = await client.get(media_path(film))
    api = await client.get(f"/api/v1/movies/{film}/subtitles")
    deleted = await post_form(client, f"{media_path(film)}/subtitles/pt-BR/delete")
    after = await client.get(f"/api/v1/movies/{film}/subtitles")

    assert (added.status_code, added.headers["location"]) == (
        303,
        f"{media_path(film)}#subtitles",
    )
    assert "<td><code>pt-BR</code></td>" in listed.text
    assert "<td>Português</td>" in listed.text
    assert [track["language"] for track in api.json()] == ["pt-BR"]
    assert deleted.status_code == 303
    assert after.json() == []


@pytest.mark.parametrize(
    ("raw", "fields", "message"),
    [
        (b"just some words\nand more\n", {}, "This is neither SRT nor WebVTT"),
        (b"", {}, "The subtitle file is empty."),
        (None, {}, "Choose an SRT or WebVTT file."),
        (SRT, {"language": "klingonese"}, "is not a language tag"),
        (SRT, {"language": ""}, "Give the subtitles&#39; language"),
        (SRT, {"label": "x" * 101}, "The label is longer than 100 characters."),
        (b"\xff\xfe\x00\xd8" * 40, {}, "The file says it is UTF-16-LE but"),
    ],
)
async def test_bad_subtitles_are_explained_beside_the_form(
    client: httpx.AsyncClient,
    manager: SignedIn,
    raw: bytes | None,
    fields: dict[str, str],
    message: str,
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)

    page = await post_subtitles(client, film, raw, **fields)

    assert page.status_code == 422
    assert "The subtitles were not added:" in page.text
    assert message in page.text
    assert 'aria-invalid="true"' in page.text
    assert (await client.get(f"/api/v1/movies/{film}/subtitles")).json() == []


async def test_subtitles_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)

    answer = await client.post(
        f"{media_path(film)}/subtitles",
        data={"language": "en", "csrf_token": "forged"},
        files={"file": ("track.srt", SRT, "application/x-subrip")},
    )

    assert answer.status_code == 403
    assert (await client.get(f"/api/v1/movies/{film}/subtitles")).json() == []


async def test_deleting_subtitles_that_do_not_exist_is_the_not_found_page(
    client: httpx.AsyncClient, manager: SignedIn
) -> None:
    film = await create_movie(client, manager)
    await sign_in(client, manager)

    answer = await post_form(client, f"{media_path(film)}/subtitles/de/delete")

    assert answer.status_code == 404
    assert "has no subtitles in &#39;de&#39;" in answer.text
