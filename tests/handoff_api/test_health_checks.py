"""Readiness reports: a failing check is reported as unavailable, with its reason only in the log."""

from __future__ import annotations

from typing import Any

import pytest

from handoff_api.health_checks import Check, run_checks

SECRET = "connection to 10.1.2.3:5432 refused: password authentication failed for user 'tre'"


async def failing() -> dict[str, Any]:
    raise ConnectionRefusedError(SECRET)


async def fine() -> dict[str, Any]:
    return {"ok": True}


async def test_a_failing_required_check_is_503_without_exception_text(caplog: pytest.LogCaptureFixture) -> None:
    code, body = await run_checks({"database": Check(failing, required=True), "rasa": Check(fine, required=False)})
    assert code == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"] == {"ok": False, "error": "unavailable", "required": True}
    assert "10.1.2.3" not in repr(body) and "ConnectionRefused" not in repr(body)
    assert SECRET in caplog.text


async def test_a_failing_soft_check_only_degrades() -> None:
    code, body = await run_checks({"database": Check(fine, required=True), "rasa": Check(failing, required=False)})
    assert code == 200 and body["status"] == "degraded" and "password" not in repr(body)
