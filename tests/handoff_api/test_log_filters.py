"""Query-string tokens are masked in uvicorn's log records (the real server is checked in test_multiworker)."""

from __future__ import annotations

import logging

import pytest
from uvicorn.logging import AccessFormatter

from handoff_api.log_filters import SERVER_LOGGERS, TokenMaskingFilter, install_token_masking, mask_tokens

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJjbGllbnRfaWQiOiJDMTAwMDEifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        (f"/ws/widget?token={JWT}", "/ws/widget?token=***"),
        (f"/ws/widget?token={JWT}&conversation_id=c1", "/ws/widget?token=***&conversation_id=c1"),
        (f"/ws/widget?conversation_id=c1&token={JWT}", "/ws/widget?conversation_id=c1&token=***"),
        (f'"GET /x?access_token={JWT} HTTP/1.1" 200', '"GET /x?access_token=*** HTTP/1.1" 200'),
        (f"/ws/console?TOKEN={JWT}#frag", "/ws/console?TOKEN=***#frag"),
        ("/ws/widget?token=", "/ws/widget?token=***"),
        ("/api/v1/widget/demo-token", "/api/v1/widget/demo-token"),
        ("/search?mytoken=abc&q=token=x", "/search?mytoken=abc&q=token=x"),
    ],
)
def test_mask_tokens(line: str, masked: str) -> None:
    assert mask_tokens(line) == masked


def test_websocket_lines_of_uvicorn_error_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    install_token_masking()
    with caplog.at_level(logging.INFO, logger="uvicorn.error"):
        logging.getLogger("uvicorn.error").info(
            '%s - "WebSocket %s" [accepted]', "127.0.0.1:50000", f"/ws/widget?token={JWT}&conversation_id=c1"
        )
    assert JWT not in caplog.text
    assert '"WebSocket /ws/widget?token=***&conversation_id=c1" [accepted]' in caplog.text


def test_access_records_keep_their_argument_tuple_for_uvicorns_formatter() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", f"/ws/console?token={JWT}", "1.1", 101),
        None,
    )
    assert TokenMaskingFilter().filter(record) is True
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '127.0.0.1:50000 - "GET /ws/console?token=*** HTTP/1.1" 101 Switching Protocols'


def test_mapping_arguments_and_other_types_survive() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%(path)s %(count)d", None, None)
    record.args = {"path": f"/ws/widget?token={JWT}", "count": 3}
    TokenMaskingFilter().filter(record)
    assert record.getMessage() == "/ws/widget?token=*** 3"


def test_importing_the_channel_routers_installs_the_filter_once() -> None:
    import handoff_api.console.routes
    import handoff_api.widget.routes  # noqa: F401

    install_token_masking()
    for name in SERVER_LOGGERS:
        filters = [item for item in logging.getLogger(name).filters if isinstance(item, TokenMaskingFilter)]
        assert len(filters) == 1, name
