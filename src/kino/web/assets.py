"""Static files: the site's own CSS, JavaScript and images (``src/kino/web/static``), and the few
third-party files it loads, served from ``node_modules/`` where ``npm ci`` puts them (package.json
and package-lock.json name their exact versions; nothing third-party is committed)."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import structlog
from fastapi import APIRouter
from fastapi.responses import FileResponse

from kino.core.errors import NotFound

log = structlog.get_logger("kino.web")

STATIC_DIR = Path(__file__).parent / "static"
# The repository's node_modules/ (Kino runs from its checkout: `pip install -e .`).
NODE_MODULES = Path(__file__).resolve().parents[3] / "node_modules"
STATIC_PREFIX = "/static"
VENDOR_PREFIX = "/static/vendor"
# What the pages load from npm packages, by the name they load it under.
VENDOR_FILES = {
    "hls.min.js": "hls.js/dist/hls.min.js",
    "hls.worker.js": "hls.js/dist/hls.worker.js",
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "tus.min.js": "tus-js-client/dist/tus.min.js",
}
JS_MEDIA_TYPE = "text/javascript; charset=utf-8"
# Files are addressed with ?v=<digest of their content>, so a browser may keep them for long.
IMMUTABLE = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False)


class VendorFileMissing(NotFound):
    code = "asset_missing"


@router.get(VENDOR_PREFIX + "/{name}")
async def vendor_file(name: str) -> FileResponse:
    path = vendor_path(name)
    if path is None or not path.is_file():
        raise VendorFileMissing(f"{name} is not installed: run `npm ci` (make does) and reload.")
    return FileResponse(path, media_type=JS_MEDIA_TYPE, headers={"Cache-Control": IMMUTABLE})


def vendor_path(name: str) -> Path | None:
    relative = VENDOR_FILES.get(name)
    return NODE_MODULES / relative if relative else None


def missing_vendor_files() -> list[str]:
    return [name for name in VENDOR_FILES if not (NODE_MODULES / VENDOR_FILES[name]).is_file()]


def warn_about_missing_vendor_files() -> None:
    missing = missing_vendor_files()
    if missing:
        log.warning("web.assets.missing", files=missing, fix="npm ci", node_modules=NODE_MODULES)


def static_url(name: str) -> str:
    """The URL of one of the site's own static files, with a digest of its content."""
    return f"{STATIC_PREFIX}/{name}?v={_digest(STATIC_DIR / name)}"


def vendor_url(name: str) -> str:
    path = vendor_path(name)
    if path is None:
        raise KeyError(name)
    return f"{VENDOR_PREFIX}/{name}?v={_digest(path)}"


@lru_cache(maxsize=64)
def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"
