"""Which function runs which kind of job. Modules register their kinds with ``@job_handler``;
``load_handlers`` imports every such module, so a pool or worker knows all kinds before it runs
the first job."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kino.jobs.context import JobContext

JobHandler = Callable[["JobContext"], Awaitable[None]]

# The modules whose import registers job kinds.
HANDLER_MODULES: tuple[str, ...] = (
    "kino.media.tasks",
    "kino.billing.tasks",
    "kino.boxoffice.tasks",
)

_handlers: dict[str, JobHandler] = {}


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Register the decorated coroutine function as the body of jobs of ``kind``."""
    if not kind or len(kind) > 64:
        raise ValueError(f"a job kind is 1 to 64 characters, not {kind!r}")

    def register(handler: JobHandler) -> JobHandler:
        known = _handlers.get(kind)
        if known is not None and _qualified_name(known) != _qualified_name(handler):
            raise ValueError(f"job kind {kind!r} is already handled by {_qualified_name(known)}")
        _handlers[kind] = handler
        return handler

    return register


def handler_for(kind: str) -> JobHandler | None:
    return _handlers.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_handlers)


def load_handlers(extra_modules: Iterable[str] = ()) -> None:
    """Import the modules that register job kinds (and ``extra_modules``, e.g. test kinds)."""
    for name in (*HANDLER_MODULES, *extra_modules):
        importlib.import_module(name)


def _qualified_name(handler: JobHandler) -> str:
    return f"{handler.__module__}.{getattr(handler, '__qualname__', repr(handler))}"
