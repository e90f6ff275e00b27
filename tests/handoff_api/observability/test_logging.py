"""Structured log lines: JSON or console, the bound ids, and personal data masked in every line."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from handoff_api.log_filters import install_log_masking
from handoff_api.observability.logging import (
    QuietActionCalls,
    StderrHandler,
    bind_request,
    configure_logging,
    conversation_context,
    mask_event,
)
from handoff_api.settings import Settings

ID_CARD = "110101199003071234"
MOBILE = "13812345678"
MASKED_ID_CARD = "110***********1234"
MASKED_MOBILE = "138****5678"


@pytest.fixture
def structured(request: pytest.FixtureRequest) -> Iterator[StderrHandler]:
    """The process's logging configured as create_app does it (JSON unless the test asks otherwise)."""
    log_format = getattr(request, "param", "json")
    level = logging.getLogger().level
    handler = configure_logging(Settings(log_format=log_format, log_level="debug"))
    install_log_masking()
    yield handler
    logging.getLogger().removeHandler(handler)
    logging.getLogger().setLevel(level)


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_standard_library_records_come_out_as_json_with_the_bound_ids(
    structured: StderrHandler, capsys: pytest.CaptureFixture[str]
) -> None:
    async def request() -> None:
        bind_request("req-1")
        with conversation_context("conv-9"):
            logging.getLogger("handoff_api.some.module").info("turn for %s done", "C10002")

    asyncio.run(request())  # a request runs in a task of its own: what it binds stays there
    logging.getLogger("handoff_api.some.module").info("outside")
    first, second = [line for line in lines(capsys.readouterr().err) if line["logger"] == "handoff_api.some.module"]
    assert first["event"] == "turn for C10002 done"
    assert first["request_id"] == "req-1" and first["conversation_id"] == "conv-9"
    assert first["level"] == "info" and first["logger"] == "handoff_api.some.module"
    assert "request_id" not in second and "conversation_id" not in second


def test_an_id_card_and_a_mobile_number_come_out_masked_from_every_kind_of_logger(
    structured: StderrHandler, capsys: pytest.CaptureFixture[str]
) -> None:
    logging.getLogger("handoff_api.widget").warning("client typed %s and %s", ID_CARD, MOBILE)
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "1.2.3.4:5", "GET", f"/x?m={MOBILE}", "1.1", 200
    )
    structlog.get_logger("handoff_api.native").warning("typed", text=f"身份证{ID_CARD}", nested={"m": [MOBILE]})
    with conversation_context(f"手机{MOBILE}"):
        try:
            raise ValueError(f"bad number {ID_CARD}")
        except ValueError:
            logging.getLogger("routing.x").exception("failed")
    err = capsys.readouterr().err
    written = lines(err)
    assert len(written) == 4
    assert ID_CARD not in err and MOBILE not in err
    assert written[0]["event"] == f"client typed {MASKED_ID_CARD} and {MASKED_MOBILE}"
    assert f"/x?m={MASKED_MOBILE}" in str(written[1]["event"])
    assert written[2]["text"] == f"身份证{MASKED_ID_CARD}" and written[2]["nested"] == {"m": [MASKED_MOBILE]}
    assert written[3]["conversation_id"] == f"手机{MASKED_MOBILE}"
    assert f"bad number {MASKED_ID_CARD}" in str(written[3]["exception"])


@pytest.mark.parametrize("structured", ["console"], indirect=True)
def test_console_lines_are_readable_and_masked(structured: StderrHandler, capsys: pytest.CaptureFixture[str]) -> None:
    with structlog.contextvars.bound_contextvars(request_id="req-7"):
        logging.getLogger("handoff_api.x").warning("mobile %s", MOBILE)
    err = capsys.readouterr().err
    assert not err.startswith("{")
    assert f"mobile {MASKED_MOBILE}" in err and "request_id=req-7" in err and MOBILE not in err


def test_configuring_twice_keeps_one_structured_handler(structured: StderrHandler) -> None:
    again = configure_logging(Settings(log_format="json"))
    try:
        assert [h for h in logging.getLogger().handlers if isinstance(h, StderrHandler)] == [again]
    finally:
        logging.getLogger().removeHandler(again)


def test_uvicorns_stock_handlers_give_way_to_the_root_handler(structured: StderrHandler) -> None:
    from uvicorn.logging import AccessFormatter

    access = logging.getLogger("uvicorn.access")
    stock = logging.StreamHandler()
    stock.setFormatter(AccessFormatter())
    access.addHandler(stock)
    access.propagate = False
    handler = configure_logging(Settings(log_format="json"))
    try:
        assert stock not in access.handlers and access.propagate
    finally:
        logging.getLogger().removeHandler(handler)


def test_mask_event_masks_text_values_and_keeps_the_rest() -> None:
    masked = mask_event(None, "info", {"event": MOBILE, "count": 3, "ok": None, "items": (ID_CARD,)})
    assert masked == {"event": MASKED_MOBILE, "count": 3, "ok": None, "items": [MASKED_ID_CARD]}


def test_the_log_format_follows_the_mode_unless_set() -> None:
    assert Settings().log_renderer == "console"
    production = Settings(
        app_mode="production", staff_token_secret="s" * 32, client_token_secret="c" * 32, api_host="0.0.0.0"
    )
    assert production.log_renderer == "json"
    assert Settings(log_format="json").log_renderer == "json"
    assert Settings(log_level=" warning ").log_level == "WARNING"
    with pytest.raises(ValueError, match="log_level"):
        Settings(log_level="loud")


def test_the_http_clients_request_lines_come_out_only_at_debug() -> None:
    level = logging.getLogger().level
    configure_logging(Settings(log_format="json"))
    try:
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
        configure_logging(Settings(log_format="json", log_level="debug"))
        assert logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        for structured_handler in [h for h in logging.getLogger().handlers if isinstance(h, StderrHandler)]:
            logging.getLogger().removeHandler(structured_handler)
        logging.getLogger().setLevel(level)
        logging.getLogger("httpx").setLevel(logging.NOTSET)


def access_line(path: str, status: int) -> logging.LogRecord:
    args = ("127.0.0.1:50000", "POST", path, "1.1", status)
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)


def test_rasas_successful_action_calls_leave_no_access_line_except_at_debug() -> None:
    level = logging.getLogger().level
    access = logging.getLogger("uvicorn.access")
    try:
        configure_logging(Settings(log_format="json"))
        configure_logging(Settings(log_format="json"))  # once, however often configured
        assert len([f for f in access.filters if isinstance(f, QuietActionCalls)]) == 1
        assert not access.filter(access_line("/webhook?token=secret", 200))
        assert access.filter(access_line("/webhook?token=wrong", 401))
        assert access.filter(access_line("/api/v1/conversations/c1/messages", 200))
        assert access.filter(logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, "other", None, None))
        configure_logging(Settings(log_format="json", log_level="debug"))
        assert access.filter(access_line("/webhook?token=secret", 200))
    finally:
        for structured_handler in [h for h in logging.getLogger().handlers if isinstance(h, StderrHandler)]:
            logging.getLogger().removeHandler(structured_handler)
        logging.getLogger().setLevel(level)
        for quiet in [f for f in access.filters if isinstance(f, QuietActionCalls)]:
            access.removeFilter(quiet)
