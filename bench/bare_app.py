"""The baseline: a bare FastAPI JSON endpoint, served the same way as Kino (Granian, ASGI)."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()

ITEMS = [
    {"id": number, "title": f"Film {number}", "year": 2000 + number, "genres": ["Drama"]}
    for number in range(20)
]


@app.get("/json")
async def json_page() -> dict[str, object]:
    return {"items": ITEMS, "total": 20, "page": 1, "page_size": 20}
