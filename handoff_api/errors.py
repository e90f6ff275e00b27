"""Turns domain and adapter errors into HTTP answers with a clear message, and never exception text.

Every error body is `{"error": <code>, "detail": <message>}`. Routing errors carry messages written for
callers; an unavailable bot and anything unexpected get a generic message, and the details go to the log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from handoff_api.bot_client import BotUnavailable
from handoff_api.store_outage import is_store_outage
from routing.errors import (
    AlreadyRated,
    ConversationAlreadyOpen,
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

STORE_UNAVAILABLE = "the service is briefly unavailable; nothing already sent was lost, please send it again"
STORE_RETRY_SECONDS = 2

STATUS_BY_ERROR: tuple[tuple[type[RoutingError], int], ...] = (
    (NotFound, 404),
    (IllegalTransition, 409),
    (StaleConversation, 409),
    (StaleClaim, 409),
    (NoCapacity, 409),
    (ConversationAlreadyOpen, 409),
    (AlreadyRated, 409),
    (Forbidden, 403),
    (ValidationFailed, 422),
)


def status_for(error: RoutingError) -> int:
    """The HTTP status for a routing error."""
    for error_type, status in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


CODE_BY_STATUS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    422: "ValidationError",
    429: "RateLimited",
    503: "Unavailable",
}
BOT_UNAVAILABLE = "The robot advisor is unavailable right now; your message was stored and will be answered."
INTERNAL_ERROR = "Something went wrong on our side; nothing you sent was lost. Please try again."


class ErrorBody(BaseModel):
    """The one body of every error answer: a stable code and a message written for the caller."""

    error: str = Field(description="a stable code, such as NotFound, Conflict or ValidationError")
    detail: str = Field(description="what went wrong, for a person to read; never exception text")


class ActionErrorBody(ErrorBody):
    """An error of the action endpoint: the same body, plus the action's name that the Rasa server reads."""

    action_name: str


DESCRIPTIONS = {
    400: "Malformed request (the body is not JSON, or not valid Unicode)",
    401: "Missing or invalid credentials",
    403: "Authenticated, but not allowed to do this",
    404: "Unknown, or not the caller's",
    409: "Conflicts with the current state (someone was first, or it is already open)",
    413: "The request body is larger than MAX_BODY_BYTES",
    422: "A field is missing, malformed or out of range",
    429: "Too many requests; see Retry-After",
    503: "A dependency is unavailable right now; nothing sent was lost",
}


def error_responses(*statuses: int, model: type[ErrorBody] = ErrorBody) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for error statuses, all with the one error body."""
    return {status: {"model": model, "description": DESCRIPTIONS[status]} for status in statuses}


def _error_body(code: str, message: str) -> dict[str, str]:
    return ErrorBody(error=code, detail=message).model_dump()


async def _routing_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RoutingError)
    return JSONResponse(_error_body(type(exc).__name__, str(exc)), status_code=status_for(exc))


async def _bot_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("%s %s: the bot is unavailable: %s", request.method, request.url.path, exc)
    return JSONResponse(_error_body("BotUnavailable", BOT_UNAVAILABLE), status_code=503)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = CODE_BY_STATUS.get(exc.status_code, "Error")
    detail = exc.detail if isinstance(exc.detail, str) else code
    return JSONResponse(_error_body(code, detail), status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_store_outage(exc):
        log.warning("%s %s: a store is unavailable: %s", request.method, request.url.path, type(exc).__name__)
        body = _error_body("ServiceUnavailable", STORE_UNAVAILABLE)
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(STORE_RETRY_SECONDS)})
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(_error_body("InternalError", INTERNAL_ERROR), status_code=500)


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
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
