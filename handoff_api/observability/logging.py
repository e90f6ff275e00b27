"""Structured logs: every line one JSON object (or readable columns in development), with its context.

`configure_logging` (called by create_app) puts one handler on the root logger whose structlog formatter
renders every record, from `logging.getLogger(...)` calls and from structlog loggers alike, with the time (UTC),
level, logger name, message, and the context bound for the request (`request_id`, by the middleware) and the
turn (`conversation_id`, by the conversation flow). Uvicorn's own stock handlers are taken off its loggers,
which then propagate to the root, so its access and error lines come out the same way.

Personal data and tokens stay masked: handoff_api.log_filters' filter still runs on the root handler (installed
after this), and `mask_event` masks every text value of the rendered event once more, which also covers the
bound context, extra fields and rendered tracebacks.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import Any, TextIO

import structlog
from structlog.contextvars import bound_contextvars
from structlog.stdlib import ProcessorFormatter
from structlog.types import Processor

from handoff_api.log_filters import mask_log_text
from handoff_api.settings import Settings

REQUEST_ID = "request_id"
CONVERSATION_ID = "conversation_id"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
CLIENT_LOGGERS = ("httpx", "httpcore")
"""The HTTP client's loggers: a line for every call to Rasa or WeCom at INFO; shown only at LOG_LEVEL=DEBUG
(so are the access lines of Rasa's calls of the action endpoint: QuietActionCalls)."""


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever sys.stderr is at the time of the record (it may be replaced after start-up)."""

    structured = True

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


ACTION_ENDPOINT_PATH = "/webhook"


class QuietActionCalls(logging.Filter):
    """Drops uvicorn's access line of a successful call of the action endpoint: Rasa calls it back once in
    every bot turn, whose client request has its own line. Refused calls (4xx, 5xx) are still logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:  # client, method, path with query, HTTP version, status
            path, status = args[2], args[4]
            if isinstance(path, str) and isinstance(status, int) and status < 400:
                return path.split("?", 1)[0] != ACTION_ENDPOINT_PATH
        return True


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_log_text(value)
    if isinstance(value, Mapping):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


def mask_event(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Mask tokens and personal data in every text value of the event (a structlog processor)."""
    return {key: _masked(value) for key, value in event_dict.items()}


def shared_processors() -> list[Processor]:
    """What every record gets, whether it comes from structlog or from the standard library."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter(renderer: str) -> ProcessorFormatter:
    """The root handler's formatter: JSON lines, or console columns."""
    final: Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if renderer == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    return ProcessorFormatter(
        foreign_pre_chain=shared_processors(),
        processors=[
            ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            mask_event,
            final,
        ],
    )


def _is_uvicorn_stock(handler: logging.Handler) -> bool:
    """A handler uvicorn's default logging configuration made (it formats with uvicorn's formatters)."""
    return type(handler.formatter).__module__ == "uvicorn.logging"


def configure_logging(settings: Settings) -> StderrHandler:
    """Route the process's logging through structlog (idempotent: a second call replaces the first's handler)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "structured", False):
            root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter(settings.log_renderer))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        for stock in [item for item in logger.handlers if _is_uvicorn_stock(item)]:
            logger.removeHandler(stock)
        logger.propagate = True  # the root's structured, masked handler writes uvicorn's lines too
        logger.setLevel(logging.NOTSET)  # and LOG_LEVEL decides, whatever level an earlier configuration left
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if settings.log_level == "DEBUG" else logging.WARNING)
    access = logging.getLogger("uvicorn.access")
    for quiet in [item for item in access.filters if isinstance(item, QuietActionCalls)]:
        access.removeFilter(quiet)
    if settings.log_level != "DEBUG":
        access.addFilter(QuietActionCalls())
    structlog.configure(
        processors=[*shared_processors(), ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return handler


def bind_request(request_id: str) -> None:
    """Everything logged from now on in this task carries this request id.

    Not reset when the request ends: the server runs each request in a task of its own (a copy of the context),
    and the handler of an unexpected error, which runs after the app and its middleware have returned, must still
    log the id."""
    structlog.contextvars.bind_contextvars(**{REQUEST_ID: request_id})


@contextmanager
def conversation_context(conversation_id: str) -> Iterator[None]:
    """Everything logged inside carries this conversation id (restored afterwards)."""
    with bound_contextvars(**{CONVERSATION_ID: conversation_id}):
        yield
