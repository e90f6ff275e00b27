"""The whole-app body limit: declared and chunked bodies above it get 413 with the one error body."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import cast

import httpx
from fastapi import FastAPI, Request
from pydantic import BaseModel

from handoff_api.body_limit import BodyLimitMiddleware
from handoff_api.errors import install_error_handlers
from handoff_api.main import create_app
from handoff_api.settings import Settings

LIMIT = 1024
TOO_LARGE = {"error": "PayloadTooLarge", "detail": "the request body is larger than 1024 bytes (MAX_BODY_BYTES)"}


class Note(BaseModel):
    text: str


def limited_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=LIMIT, per_path={"/roomy": 4 * LIMIT})

    @app.post("/notes")
    async def notes(note: Note) -> dict[str, int]:
        return {"chars": len(note.text)}

    @app.post("/roomy")
    async def roomy(request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    @app.post("/ignores-body")
    async def ignores_body() -> dict[str, bool]:
        return {"ok": True}

    return app


def http() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=limited_app()), base_url="http://test")


async def chunks(total: int, size: int = 256) -> AsyncIterator[bytes]:
    """A chunked body (no Content-Length) of `total` bytes of a JSON note."""
    body = ('{"text": "' + "x" * (total - 12) + '"}').encode()
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_within_the_limit_is_served() -> None:
    async with http() as client:
        response = await client.post("/notes", json={"text": "x" * 900})
    assert response.status_code == 200 and response.json() == {"chars": 900}


async def test_a_declared_length_above_the_limit_is_refused_before_the_app_runs() -> None:
    async with http() as client:
        refused = await client.post("/notes", json={"text": "x" * 2000})
        not_read = await client.post("/ignores-body", content=b"x" * 2000)
    assert refused.status_code == 413 and refused.json() == TOO_LARGE
    assert not_read.status_code == 413 and not_read.json() == TOO_LARGE


async def test_a_chunked_body_is_counted_as_it_arrives() -> None:
    async with http() as client:
        small = await client.post("/notes", content=chunks(600), headers={"content-type": "application/json"})
        large = await client.post("/notes", content=chunks(5000), headers={"content-type": "application/json"})
    assert "content-length" not in small.request.headers
    assert small.status_code == 200 and small.json() == {"chars": 600 - 12}
    assert large.status_code == 413 and large.json() == TOO_LARGE


async def test_a_path_with_its_own_limit_uses_it() -> None:
    async with http() as client:
        roomy = await client.post("/roomy", content=b"x" * 3000)
        too_roomy = await client.post("/roomy", content=chunks(5000))
    assert roomy.status_code == 200 and roomy.json() == {"bytes": 3000}
    assert too_roomy.status_code == 413 and "4096 bytes" in too_roomy.json()["detail"]


def test_the_app_limits_every_body_and_keeps_the_action_and_wecom_limits(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", kb_index_dir=tmp_path / "none", max_body_bytes=2048
    )
    installed = create_app(settings).user_middleware
    [limit] = [middleware for middleware in installed if cast(object, middleware.cls) is BodyLimitMiddleware]
    assert limit.kwargs == {
        "max_bytes": 2048,
        "per_path": {"/webhook": settings.action_max_body_bytes, "/wecom/callback": settings.wecom.max_body_bytes},
    }
