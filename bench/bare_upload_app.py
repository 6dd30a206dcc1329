"""The upload baseline: a bare FastAPI endpoint that streams a PUT body into a file, served the
same way as Kino (Granian, ASGI). No auth, no database, no protocol: just the bytes to disk."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from fastapi import FastAPI, Request, Response

app = FastAPI()
TARGET_DIR = Path(os.environ.get("BARE_UPLOAD_DIR", "."))
BATCH_BYTES = 1024 * 1024


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.put("/files/{name}")
async def put_file(name: str, request: Request) -> Response:
    batch = bytearray()
    with (TARGET_DIR / Path(name).name).open("wb") as target:
        async for chunk in request.stream():
            batch += chunk
            if len(batch) >= BATCH_BYTES:
                await asyncio.to_thread(target.write, batch)
                batch.clear()
        await asyncio.to_thread(target.write, batch)
    return Response(status_code=204)
