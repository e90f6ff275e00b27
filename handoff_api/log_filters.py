"""Keep credentials and personal data out of server logs: one filter for every log record of the process.

- Tokens: browsers cannot set headers on a WebSocket handshake, so the widget and the console pass their
  token in the query string, and uvicorn logs the full path of every request and WebSocket: `token=` and
  `access_token=` values become `***`.
- Personal data: ID-card, mobile and bank-card numbers a client typed (in a message, a search, a path)
  are masked with handoff_api.masking.mask_text (the one masking function of knowledge_base).

The filter rewrites the record's message and arguments in place (keeping the argument tuple, which
uvicorn's access formatter unpacks; non-text arguments are wrapped so their str/repr come out masked),
and renders a traceback masked before any formatter sees it. A filter on a logger only sees records
logged to that very logger, so `install_log_masking` (called by create_app at start-up) puts it on the
root logger, on uvicorn's and rasa_sdk's loggers and on every handler they have, including Python's
last-resort handler: a record from any logger passes a masking handler before it is written.
"""

from __future__ import annotations

import logging
import numbers
import re
from collections.abc import Iterable, Mapping

from handoff_api.masking import mask_text

MASK = "***"
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")
PROCESS_LOGGERS = ("", "uvicorn", *SERVER_LOGGERS, "rasa_sdk", "handoff_api", "routing", "knowledge_base", "bot")
"""Loggers (and their handlers) the filter is installed on at start-up; "" is the root logger."""
_SECRET_QUERY = re.compile(r"(?<=[?&;])((?:access_)?token)=[^&;#\s\"']*", re.IGNORECASE)


def mask_tokens(text: str) -> str:
    """`text` with the value of every `token=` / `access_token=` query parameter replaced by ***."""
    return _SECRET_QUERY.sub(rf"\1={MASK}", text)


def mask_log_text(text: str) -> str:
    """Tokens and personal data masked."""
    return mask_text(mask_tokens(text))


class _Masked:
    """A log argument that is not text: formats like the value, masked."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __str__(self) -> str:
        return mask_log_text(str(self.value))

    def __repr__(self) -> str:
        return mask_log_text(repr(self.value))

    def __format__(self, spec: str) -> str:
        return mask_log_text(format(self.value, spec))


def _mask_value(value: object) -> object:
    if isinstance(value, str):
        return mask_log_text(value)
    if value is None or isinstance(value, numbers.Number | _Masked):
        return value  # numbers keep %d / %f formatting; a bare number is not free text
    return _Masked(value)


def _is_structlog_event(record: logging.LogRecord) -> bool:
    """A record a structlog logger made: its message is the event dict its formatter renders (and masks)."""
    return isinstance(record.msg, dict) and hasattr(record, "_logger")


class LogMaskingFilter(logging.Filter):
    """Masks tokens and personal data in a record's message, arguments, traceback and stack; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _is_structlog_event(record):  # a structlog event is masked by its own processor chain
            record.msg = _mask_value(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_mask_value(value) for value in args)
        elif isinstance(args, Mapping):
            record.args = {key: _mask_value(value) for key, value in args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_log_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_log_text(record.stack_info)
        return True


def _attach(target: logging.Filterer) -> None:
    if not any(isinstance(existing, LogMaskingFilter) for existing in target.filters):
        target.addFilter(LogMaskingFilter())


def install_token_masking(logger_names: Iterable[str] = SERVER_LOGGERS) -> None:
    """Attach one LogMaskingFilter to each named logger (idempotent; the channel routers call it on import)."""
    for name in logger_names:
        _attach(logging.getLogger(name))


def install_log_masking(logger_names: Iterable[str] = PROCESS_LOGGERS) -> None:
    """Attach one LogMaskingFilter to each named logger, to each of their handlers and to the last resort."""
    for name in logger_names:
        logger = logging.getLogger(name)
        _attach(logger)
        for handler in logger.handlers:
            _attach(handler)
    if logging.lastResort is not None:
        _attach(logging.lastResort)
