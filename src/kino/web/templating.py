"""The Jinja2 environment of the site: templates in ``templates/``, autoescaped, strict about
undefined names (a typo in a template fails its test instead of rendering nothing), and the
filters the pages format with."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from starlette.templating import Jinja2Templates

from kino.web.assets import static_url, vendor_url

TEMPLATES_DIR = Path(__file__).parent / "templates"
MONTHS = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)
PLACEHOLDER_SHADES = 8


def runtime(minutes: int | None) -> str:
    """``112`` → ``1 h 52 min``."""
    if not minutes:
        return ""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest:02d} min" if rest else f"{hours} h"


def clock(seconds: float | None) -> str:
    """``3723`` → ``1:02:03``; ``65`` → ``1:05``."""
    total = max(0, int(seconds or 0))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def day(value: date | datetime | None) -> str:
    """``2024-03-05`` → ``5 Mar 2024``."""
    if value is None:
        return ""
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def score(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}".removesuffix(".0")


def placeholder_shade(movie_id: int) -> str:
    """One of a few gradients for a film without a poster, the same for a film every time."""
    return f"shade-{movie_id % PLACEHOLDER_SHADES}"


def query_string(params: dict[str, object], **changes: object) -> str:
    """``params`` with ``changes``, without empty values, as ``?a=1&b=2`` (or ``""``)."""
    merged = {**params, **changes}
    kept = {name: value for name, value in merged.items() if value not in (None, "")}
    return "?" + urlencode(kept) if kept else ""


def page_link(params: dict[str, object], key: str, number: int, anchor: str = "") -> str:
    """The link to page ``number`` of a list paged by the query parameter ``key``."""
    # "?" alone: the list's own path without a query, for page 1 of an unfiltered list.
    return (query_string(params, **{key: None if number == 1 else number}) or "?") + anchor


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        runtime=runtime, clock=clock, day=day, score=score, shade=placeholder_shade
    )
    environment.globals.update(
        static_url=static_url, vendor_url=vendor_url, query_string=query_string, page_link=page_link
    )
    return environment


templates = Jinja2Templates(env=_environment())
