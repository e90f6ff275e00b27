"""Helpers for the client API's access tests: client tokens, keys with chosen scopes, parallel requests."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi.testclient import TestClient

from handoff_api.client_tokens import issue_client_token
from handoff_api.container import Container
from tests.handoff_api.conftest import bearer


def container_of(client: TestClient) -> Container:
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    return container


def client_token(client: TestClient, client_id: str, lifetime: timedelta | None = None) -> dict[str, str]:
    """What the client app's backend signs for `client_id`, as an Authorization header."""
    container = container_of(client)
    return bearer(issue_client_token(container.settings, client_id, container.clock.now(), lifetime=lifetime))


def parallel_posts(
    client: TestClient, path: str, body: dict[str, object], headers: dict[str, str], count: int
) -> list[httpx.Response]:
    """`count` simultaneous POSTs on the app's own event loop (the TestClient alone would send them one by one)."""

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return await asyncio.gather(*(http.post(path, json=body, headers=headers) for _ in range(count)))

    assert client.portal is not None
    return client.portal.call(send_all)
