"""Log records carry no tokens and no personal data, whichever logger writes them (real server: test_multiworker)."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from uvicorn.logging import AccessFormatter

from handoff_api.log_filters import (
    PROCESS_LOGGERS,
    SERVER_LOGGERS,
    LogMaskingFilter,
    install_log_masking,
    install_token_masking,
    mask_log_text,
    mask_tokens,
)
from handoff_api.main import create_app
from handoff_api.settings import Settings

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJjbGllbnRfaWQiOiJDMTAwMDEifQ.c2lnbmF0dXJl"
ID_CARD, MOBILE, BANK_CARD = "110101199003071234", "13812345678", "6222021234567890123"


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


def test_personal_data_and_tokens_are_masked_together() -> None:
    line = f"/kb/search?q=我的手机{MOBILE}&token={JWT} 身份证{ID_CARD} 卡号{BANK_CARD}"
    assert (
        mask_log_text(line)
        == "/kb/search?q=我的手机138****5678&token=*** 身份证110***********1234 卡号6222***********0123"
    )
    assert mask_log_text(mask_log_text(line)) == mask_log_text(line)  # a record filtered twice is unchanged


def record_of(msg: object, args: object = None, exc_info: object = None) -> logging.LogRecord:
    record = logging.LogRecord("handoff_api.flow", logging.INFO, __file__, 1, msg, None, exc_info)  # type: ignore[arg-type]
    record.args = args  # type: ignore[assignment]
    return record


def test_messages_and_every_kind_of_argument_are_masked() -> None:
    record = record_of("client %s wrote %r (%d chars, score %.2f)", ("C10001", {"text": f"卡号{BANK_CARD}"}, 21, 0.5))
    LogMaskingFilter().filter(record)
    assert record.getMessage() == "client C10001 wrote {'text': '卡号6222***********0123'} (21 chars, score 0.50)"

    record = record_of(f"already formatted: 手机 {MOBILE}")
    LogMaskingFilter().filter(record)
    assert record.getMessage() == "already formatted: 手机 138****5678"

    record = record_of({"raw": ID_CARD})
    LogMaskingFilter().filter(record)
    assert record.getMessage() == "{'raw': '110***********1234'}"


def test_mapping_arguments_and_other_types_survive() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%(path)s %(count)d", None, None)
    record.args = {"path": f"/ws/widget?token={JWT}&m={MOBILE}", "count": 3}
    LogMaskingFilter().filter(record)
    assert record.getMessage() == "/ws/widget?token=***&m=138****5678 3"


def test_a_traceback_is_rendered_masked() -> None:
    try:
        raise ValueError(f"cannot parse {ID_CARD}")
    except ValueError:
        record = record_of("failed", (), sys.exc_info())
    LogMaskingFilter().filter(record)
    line = logging.Formatter("%(message)s").format(record)
    assert "ValueError: cannot parse 110***********1234" in line and ID_CARD not in line


def test_access_records_keep_their_argument_tuple_for_uvicorns_formatter() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", f"/ws/console?token={JWT}&q={MOBILE}", "1.1", 101),
        None,
    )
    assert LogMaskingFilter().filter(record) is True
    line = AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False).format(record)
    assert line == '127.0.0.1:50000 - "GET /ws/console?token=***&q=138****5678 HTTP/1.1" 101 Switching Protocols'


@pytest.fixture
def handlers() -> Iterator[dict[str, io.StringIO]]:
    """A stream handler on the root logger and one on uvicorn.access (which does not propagate), as at start-up."""
    streams = {"root": io.StringIO(), "uvicorn.access": io.StringIO()}
    attached = []
    for name, stream in streams.items():
        logger = logging.getLogger("" if name == "root" else name)
        handler = logging.StreamHandler(stream)
        logger.addHandler(handler)
        attached.append((logger, handler))
    access = logging.getLogger("uvicorn.access")
    levels = {logger: logger.level for logger, _ in attached}
    propagate = access.propagate
    access.propagate = False
    for logger, _ in attached:
        logger.setLevel(logging.INFO)
    yield streams
    access.propagate = propagate
    for logger, handler in attached:
        logger.removeHandler(handler)
        logger.setLevel(levels[logger])


def test_installed_at_start_up_it_masks_records_of_every_logger(handlers: dict[str, io.StringIO]) -> None:
    install_log_masking()
    logging.getLogger("rasa_sdk.executor").info("running action for %s", f"我的卡号是{BANK_CARD}")
    logging.getLogger("handoff_api.some.module").warning(f"client typed {ID_CARD}")
    logging.getLogger("sqlalchemy.engine.Engine").info("params (%r,)", MOBILE)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "GET", f"/x?m={MOBILE}", "1.1", 200
    )
    written = handlers["root"].getvalue() + handlers["uvicorn.access"].getvalue()
    for secret in (BANK_CARD, ID_CARD, MOBILE):
        assert secret not in written
    assert "我的卡号是6222***********0123" in written and "/x?m=138****5678" in handlers["uvicorn.access"].getvalue()


def test_create_app_installs_the_filter_on_the_root_logger_and_its_handlers(tmp_path: Path) -> None:
    handler = logging.StreamHandler(io.StringIO())
    logging.getLogger().addHandler(handler)
    try:
        create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}", kb_index_dir=tmp_path))
        for name in PROCESS_LOGGERS:
            assert any(isinstance(item, LogMaskingFilter) for item in logging.getLogger(name).filters), name
        assert any(isinstance(item, LogMaskingFilter) for item in handler.filters)
        assert logging.lastResort is not None
        assert any(isinstance(item, LogMaskingFilter) for item in logging.lastResort.filters)
    finally:
        logging.getLogger().removeHandler(handler)


def test_importing_the_channel_routers_installs_the_filter_once() -> None:
    import handoff_api.console.routes
    import handoff_api.widget.routes  # noqa: F401

    install_token_masking()
    install_log_masking()
    for name in SERVER_LOGGERS:
        filters = [item for item in logging.getLogger(name).filters if isinstance(item, LogMaskingFilter)]
        assert len(filters) == 1, name
