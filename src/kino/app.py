"""``create_app(settings)``: the ASGI application, its routers, middleware and ports."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from kino.billing.providers import create_payment_provider
from kino.catalog.search import search_index_for
from kino.core.cache import create_cache
from kino.core.db import Database
from kino.core.http import install_error_handlers
from kino.core.mail import create_mailer
from kino.core.ratelimit import create_rate_limiter
from kino.core.response_cache import ResponseCacheMiddleware
from kino.core.routing import gated
from kino.core.turns import TakingTurns
from kino.jobs.queue import create_job_queue
from kino.media.storage import create_storage
from kino.ops.logging import RequestContextMiddleware, configure_logging
from kino.settings import Settings

API_PREFIX = "/api/v1"
# What a signed-out visitor reads (and may be served from the response cache); a change made
# under these paths starts a new cache generation.
PUBLIC_CATALOG_PREFIXES = tuple(
    f"{API_PREFIX}/{name}" for name in ("movies", "people", "genres", "search")
)
# Changes a viewer makes for themself (starting a film, a like, a rating, a review, a comment,
# anything under /me) leave the catalog a signed-out visitor reads as it was: they keep the
# cache generation, or every playback start would empty the catalog cache.
PER_VIEWER_WRITES = (
    rf"{API_PREFIX}/movies/[^/]+/(?:playback|like|rating|reviews|comments)(?:/.*)?",
    rf"{API_PREFIX}/me(?:/.*)?",
)
# Seat holds, the box office's busiest request, take turns (``core.turns``): this many at once
# per process. bench/boxoffice.py, 64 buyers on two cores, two server processes, alternating six
# runs each: with 4 turns the p99 was 77-126 ms at a median of 42-54 ms, and 463-611 holds a
# second; without, 115-179 ms at 37-45 ms, and 514-645 holds a second. With one process, 8 turns
# against 4 (four runs each, alternating): the same p99 (71-94 ms against 75-93), and 9-15% less
# CPU per request in every pair, so 465-599 holds a second against 406-533; 16 was no better.
HOLD_PATH = rf"{API_PREFIX}/showtimes/[^/]+/holds"
HOLD_TURNS = 8
# The staff pages change the catalog through the same services as the API: their changes start
# a new cache generation too.
STAFF_CATALOG_PREFIXES = ("/admin/movies", "/admin/people", "/admin/genres")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await app.state.jobs.start()  # the embedded worker pool of this process
        yield
        await dispose(app)

    app = FastAPI(
        title="Kino",
        version="0.1.0",
        summary="An open cinema platform.",
        lifespan=lifespan,
        # Kino's metrics are Prometheus's (ops/); FastAPI's OpenTelemetry hooks, off, cost a
        # request nothing, where asking for their providers cost every request about 2% of a
        # seat hold's CPU.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.db = Database(settings.sqlalchemy_url, pool_size=settings.database_pool_size)
    app.state.mailer = create_mailer(settings)
    app.state.payments = create_payment_provider(settings)
    app.state.limiter = create_rate_limiter(settings)
    app.state.search = search_index_for(app.state.db.dialect)
    app.state.cache = create_cache(settings)
    app.state.storage = create_storage(settings)
    app.state.jobs = create_job_queue(settings, app.state.db)
    install_error_handlers(app)
    _include_routers(app)
    app.add_middleware(
        ResponseCacheMiddleware,
        cache=app.state.cache,
        prefixes=PUBLIC_CATALOG_PREFIXES,
        ttl_seconds=settings.cache_ttl_seconds,
        per_viewer_writes=PER_VIEWER_WRITES,
        changed_by=STAFF_CATALOG_PREFIXES,
    )
    app.add_middleware(RequestContextMiddleware)
    # Added last, so outermost: a request waiting for its turn has cost nothing yet.
    app.add_middleware(TakingTurns, routes=[("POST", HOLD_PATH)], turns=HOLD_TURNS)
    return app


async def dispose(app: FastAPI) -> None:
    """Release what ``create_app`` opened: the database pool and the ports' connections."""
    await app.state.jobs.close()
    await app.state.limiter.close()
    await app.state.cache.close()
    await app.state.storage.close()
    await app.state.db.dispose()


def _include_routers(app: FastAPI) -> None:
    from kino.boxoffice.api import holds_router
    from kino.boxoffice.api import router as boxoffice_router
    from kino.boxoffice.sales_api import router as sales_router
    from kino.catalog.api import router as catalog_router
    from kino.catalog.search.api import router as search_router
    from kino.community.api import router as community_router
    from kino.identity.api import router as identity_router
    from kino.jobs.api import router as jobs_router
    from kino.media.api import router as media_router
    from kino.media.uploads_api import router as uploads_router
    from kino.ops.api import router as ops_router
    from kino.playback.api import router as playback_router
    from kino.playback.stream import router as stream_router
    from kino.web import install_web

    # In this order, each behind a gate (core/routing.py): a request walks only the routers
    # that may hold its route, instead of trying every route of the app before it. Seat holds
    # come first, the box office's busiest requests: behind ten other routers, a hold spent
    # about a sixth of its CPU finding its route (bench/boxoffice.py, counted in instructions).
    app.include_router(gated(holds_router), prefix=API_PREFIX)
    app.include_router(gated(ops_router))
    for router in (
        identity_router,
        catalog_router,
        community_router,
        jobs_router,
        uploads_router,
        media_router,
        search_router,
        playback_router,
        boxoffice_router,
        sales_router,
    ):
        app.include_router(gated(router), prefix=API_PREFIX)
    app.include_router(gated(stream_router))
    install_web(app)


def create_app_from_environment() -> FastAPI:
    """The factory ``kino serve`` hands to Granian: each worker builds its app from KINO_*."""
    app = create_app(Settings())
    _collect_garbage_for_a_server()
    return app


def _collect_garbage_for_a_server() -> None:
    """A serving process builds a few hundred thousand objects that live as long as it does
    (routes, models, schemas, compiled statements) and then makes short-lived ones by the
    million. Python's full collections walked the long-lived ones every time, pausing every
    request in flight: under load the slowest answers were those pauses (bench/boxoffice.py,
    p99 385 to 454 ms, 187 to 262 ms without). So they are frozen out of the collector's sight, and
    the youngest generation is collected every 20,000 allocations rather than every 700."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
