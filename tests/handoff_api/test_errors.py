"""Error bodies: one shape, clear messages, and never exception text (the details go to the log)."""

from __future__ import annotations

import asyncpg
import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import DBAPIError, OperationalError

from handoff_api.bot_client import BotUnavailable
from handoff_api.errors import (
    BOT_UNAVAILABLE,
    INTERNAL_ERROR,
    STORE_RETRY_SECONDS,
    STORE_UNAVAILABLE,
    install_error_handlers,
)
from routing.errors import ConversationAlreadyOpen, NotFound


def app_raising() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/bot")
    async def bot() -> None:
        raise BotUnavailable("Rasa server unreachable: ConnectError")

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("connection to 10.1.2.3:5432 refused (password authentication failed for 'tre')")

    @app.get("/open")
    async def already_open() -> None:
        raise ConversationAlreadyOpen("client 'C1' already has an open widget conversation; continue that one")

    @app.get("/missing")
    async def missing() -> None:
        raise NotFound("unknown ticket 't1'")

    @app.get("/limited")
    async def limited() -> None:
        raise HTTPException(429, "too many requests; retry after 7 seconds", {"Retry-After": "7"})

    return app


def test_an_unavailable_bot_gets_a_generic_503_and_the_reason_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(app_raising()) as client:
        response = client.get("/bot")
    assert response.status_code == 503
    assert response.json() == {"error": "BotUnavailable", "detail": BOT_UNAVAILABLE}
    assert "ConnectError" not in response.text and "Rasa" not in response.text
    assert "Rasa server unreachable: ConnectError" in caplog.text


def test_anything_unexpected_is_a_generic_500_with_the_traceback_only_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with TestClient(app_raising(), raise_server_exceptions=False) as client:
        response = client.get("/crash")
    assert response.status_code == 500 and response.json() == {"error": "InternalError", "detail": INTERNAL_ERROR}
    assert "10.1.2.3" not in response.text and "Traceback" not in response.text
    assert "password authentication failed" in caplog.text


def test_domain_and_http_errors_keep_their_status_message_and_headers() -> None:
    with TestClient(app_raising()) as client:
        assert client.get("/open").status_code == 409
        assert client.get("/missing").json() == {"error": "NotFound", "detail": "unknown ticket 't1'"}
        limited = client.get("/limited")
        assert limited.headers["retry-after"] == "7"
        assert limited.json() == {"error": "RateLimited", "detail": "too many requests; retry after 7 seconds"}
        unknown_route = client.get("/nowhere")
        assert unknown_route.status_code == 404 and unknown_route.json()["error"] == "NotFound"


def app_losing_a_store(error: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/write")
    async def write() -> None:
        raise error

    return app


@pytest.mark.parametrize(
    "error",
    [
        OperationalError(
            "INSERT ...", {}, asyncpg.exceptions.CannotConnectNowError("the database system is starting up")
        ),
        DBAPIError("SELECT 1", {}, asyncpg.exceptions.AdminShutdownError("terminating connection")),
        RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
        ConnectionRefusedError(111, "Connection refused"),
    ],
    ids=["postgres-starting", "postgres-shutdown", "redis-refused", "socket-refused"],
)
def test_a_store_that_is_briefly_unreachable_is_a_503_to_retry_not_a_500(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(app_losing_a_store(error), raise_server_exceptions=False) as client:
        response = client.get("/write")
    assert response.status_code == 503 and response.headers["retry-after"] == str(STORE_RETRY_SECONDS)
    assert response.json() == {"error": "ServiceUnavailable", "detail": STORE_UNAVAILABLE}
    assert "127.0.0.1" not in response.text and "a store is unavailable" in caplog.text


def test_an_error_that_only_mentions_a_connection_is_still_a_500() -> None:
    with TestClient(app_raising(), raise_server_exceptions=False) as client:
        assert client.get("/crash").status_code == 500
