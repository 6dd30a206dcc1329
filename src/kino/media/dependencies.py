"""Request dependencies of the media domain: the app's storage."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from kino.media.storage import Storage


async def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


MediaStorage = Annotated[Storage, Depends(_storage)]
