"""Keep credentials out of server logs: mask `token=` query values in uvicorn's log records.

Browsers cannot set headers on a WebSocket handshake, so the widget and the console pass their token in
the query string, and uvicorn logs the full path of every request and WebSocket. The filter rewrites the
record's message and string arguments in place (keeping the argument tuple, which uvicorn's access
formatter unpacks), so every handler downstream sees `token=***`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

MASK = "***"
SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error")
_SECRET_QUERY = re.compile(r"(?<=[?&;])((?:access_)?token)=[^&;#\s\"']*", re.IGNORECASE)


def mask_tokens(text: str) -> str:
    """`text` with the value of every `token=` / `access_token=` query parameter replaced by ***."""
    return _SECRET_QUERY.sub(rf"\1={MASK}", text)


def _mask_value(value: object) -> object:
    return mask_tokens(value) if isinstance(value, str) else value


class TokenMaskingFilter(logging.Filter):
    """Masks query-string tokens in a record's message and arguments; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_tokens(record.msg)
        args = record.args
        if isinstance(args, tuple):
            record.args = tuple(_mask_value(value) for value in args)
        elif isinstance(args, Mapping):
            record.args = {key: _mask_value(value) for key, value in args.items()}
        return True


def install_token_masking(logger_names: Iterable[str] = SERVER_LOGGERS) -> None:
    """Attach one TokenMaskingFilter to each named logger (idempotent)."""
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, TokenMaskingFilter) for existing in logger.filters):
            logger.addFilter(TokenMaskingFilter())
