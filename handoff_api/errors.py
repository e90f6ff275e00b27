"""Turns domain and adapter errors into HTTP answers with a clear message."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from handoff_api.bot_client import BotUnavailable
from routing.errors import (
    Forbidden,
    IllegalTransition,
    NoCapacity,
    NotFound,
    RoutingError,
    StaleClaim,
    StaleConversation,
    ValidationFailed,
)

log = logging.getLogger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[RoutingError], int], ...] = (
    (NotFound, 404),
    (IllegalTransition, 409),
    (StaleConversation, 409),
    (StaleClaim, 409),
    (NoCapacity, 409),
    (Forbidden, 403),
    (ValidationFailed, 422),
)


def status_for(error: RoutingError) -> int:
    """The HTTP status for a routing error."""
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def _error_body(code: str, message: str) -> dict[str, str]:
    return {"error": code, "detail": message}


async def _routing_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RoutingError)
    return JSONResponse(_error_body(type(exc).__name__, str(exc)), status_code=status_for(exc))


async def _bot_unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        _error_body("BotUnavailable", f"The robot advisor is unavailable; your message was stored. ({exc})"),
        status_code=503,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        problems.append(f"{location or 'body'}: {error.get('msg', 'invalid')}")
    json_invalid = any(error.get("type") == "json_invalid" for error in exc.errors())
    status = 400 if json_invalid else 422
    message = "malformed JSON body" if json_invalid else "; ".join(problems)
    return JSONResponse(_error_body("BadRequest" if json_invalid else "ValidationError", message), status)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on the app."""
    app.add_exception_handler(RoutingError, _routing_error)
    app.add_exception_handler(BotUnavailable, _bot_unavailable)
    app.add_exception_handler(RequestValidationError, _validation_error)
