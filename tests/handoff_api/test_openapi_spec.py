"""The OpenAPI spec is honest about errors: each route lists its error statuses, all with the one error body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from handoff_api.main import create_app
from handoff_api.settings import Settings

ERROR_BODIES = {"#/components/schemas/ErrorBody", "#/components/schemas/ActionErrorBody"}


@pytest.fixture
def spec(tmp_path: Path) -> dict[str, Any]:
    """The spec as served (building it needs no running engine)."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", kb_index_dir=tmp_path / "none")
    return create_app(settings).openapi()


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def error_schema(response: dict[str, Any]) -> str:
    return str(response["content"]["application/json"]["schema"]["$ref"])


def test_every_error_status_has_the_one_error_body(spec: dict[str, Any]) -> None:
    errors = {
        (name, status): error_schema(response)
        for name, operation in operations(spec).items()
        for status, response in operation["responses"].items()
        if int(status) >= 400 and not name.endswith(" /health") and not name.endswith("/health/ready")
    }
    assert errors and set(errors.values()) <= ERROR_BODIES, {k: v for k, v in errors.items() if v not in ERROR_BODIES}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert spec["components"]["schemas"]["ErrorBody"]["required"] == ["error", "detail"]


def test_routes_document_what_they_return(spec: dict[str, Any]) -> None:
    found = operations(spec)
    statuses = {name: set(operation["responses"]) for name, operation in found.items()}
    assert {"200", "400", "401", "403", "404", "409", "413", "422", "429", "503"} <= statuses[
        "POST /api/v1/conversations/{conversation_id}/messages"
    ]
    assert {"200", "401", "404", "422", "429"} <= statuses["GET /api/v1/conversations/{conversation_id}/messages"]
    assert {"200", "400", "401", "413", "422"} <= statuses["POST /api/v1/staff/login"]
    assert {"403", "404", "409"} <= statuses["POST /api/v1/staff/conversations/{conversation_id}/transfer"]
    assert {"400", "401", "404", "413", "449"} <= statuses["POST /webhook"]
    assert {"200", "503"} <= statuses["GET /health"]
    with_inputs = [
        name for name, operation in found.items() if operation.get("parameters") or "requestBody" in operation
    ]
    assert all("422" in statuses[name] for name in with_inputs)


def test_the_transcript_cursor_and_request_bodies_are_bounded_in_the_spec(spec: dict[str, Any]) -> None:
    parameters = spec["paths"]["/api/v1/conversations/{conversation_id}/messages"]["get"]["parameters"][1:]
    bounds = {parameter["name"]: parameter["schema"] for parameter in parameters}
    assert bounds["after"]["maximum"] == 2**31 - 1 and bounds["limit"]["maximum"] == 500
    assert [option["maximum"] for option in bounds["before"]["anyOf"] if "maximum" in option] == [2**31 - 1]
    schemas = spec["components"]["schemas"]
    for body in ("NewConversation", "NewMessage", "Feedback", "Login", "Reply", "Transfer", "PresenceIn"):
        assert schemas[body]["additionalProperties"] is False, body
