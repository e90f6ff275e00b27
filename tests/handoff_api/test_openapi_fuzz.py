"""A bounded, seeded property-based fuzz of every operation in the API's own OpenAPI spec.

Schemathesis generates valid and invalid requests from `/openapi.json` and sends them to the app in
process (its ASGI transport, lifespan started once). Every answer must be documented: no 5xx, a status
the operation lists, a body that matches the documented schema (the one error body for every error),
and invalid input refused with a 4xx. Each caller's credentials are attached so the fuzz gets past 401:
a staff token, a client token and the action token. WebSocket routes and static assets are not in the
spec. Examples are derandomized, so a failure found in CI is found again on any machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python.asgi import get_client, shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from handoff_api.client_tokens import issue_client_token
from handoff_api.main import create_app
from handoff_api.settings import Settings
from routing.settings import RoutingSettings
from tests.handoff_api.conftest import ScriptedBot
from tests.handoff_api.widget.support import FakeKnowledgeBase

pytestmark = [pytest.mark.slow, pytest.mark.timeout(170)]

EXAMPLES_PER_OPERATION = 8
"""Per operation and generation mode; with ~30 operations this stays well under a minute on a loaded machine."""
ACTION_TOKEN = "fuzz-action-token"
CLIENT_ID = "C10002"
STAFF_ID = "adv01"
Operation = APIOperation[Any, Any, Any, Any]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@dataclass(frozen=True)
class FuzzedApi:
    """The loaded spec and what each caller presents."""

    schema: schemathesis.BaseSchema
    staff_headers: dict[str, str]
    client_headers: dict[str, str]
    conversation_id: str

    def headers_for(self, operation: Operation) -> dict[str, str]:
        """The credentials the operation's caller would send."""
        if operation.path.startswith("/api/v1/staff"):
            return self.staff_headers
        if operation.path.startswith("/api/v1/conversations"):
            return self.client_headers
        return {}

    def fixed_for(self, operation: Operation) -> dict[str, Any]:
        """Inputs the fuzz keeps fixed: the caller's credentials, the seeded conversation, the action token."""
        fixed: dict[str, Any] = {"headers": self.headers_for(operation)}
        if "{conversation_id}" in operation.path:
            fixed["path_parameters"] = {"conversation_id": self.conversation_id}
        if operation.path in {"/webhook", "/actions"}:
            fixed["query"] = {"token": ACTION_TOKEN}
        return fixed

    def generated_inputs(self, operation: Operation) -> bool:
        """Whether the fuzz generates any of the operation's inputs (so invalid requests can be made at all)."""
        fixed = {name for values in self.fixed_for(operation).values() for name in values}
        return bool(operation.body) or any(param.name not in fixed for param in operation.iter_parameters())


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FuzzedApi]:
    """A fresh app per test (the ASGI lifespan ends with each test), one client conversation, a signed-in advisor."""
    app_settings = fuzz_settings(tmp_path)
    app = create_app(app_settings, bot=ScriptedBot(), routing_settings=RoutingSettings(always_open=True))
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan once
        with get_client(cast(Any, app)) as http:  # schemathesis's ASGI type is narrower than FastAPI's
            login = http.post("/api/v1/staff/login", json={"staff_id": STAFF_ID, "password": "demo1234"})
            assert login.status_code == 200, login.text
            client_token = issue_client_token(app_settings, CLIENT_ID, datetime.now(UTC))
            client_headers = {"Authorization": f"Bearer {client_token}"}
            opened = http.post("/api/v1/conversations", json={}, headers=client_headers)
            assert opened.status_code == 201, opened.text
        app.state.container.knowledge_base = FakeKnowledgeBase()  # agent assist answers without a built index
        yield FuzzedApi(
            schema=schema,
            staff_headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            client_headers=client_headers,
            conversation_id=opened.json()["id"],
        )
    finally:
        shutdown_lifespans()


def fuzz_settings(tmp: Path) -> Settings:
    """The app on a fresh SQLite file, without rate limits getting in the fuzz's way."""
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp / 'engine.db'}",
        kb_index_dir=tmp / "no-index",
        redis_url=None,
        secret_file=tmp / "secret_key",
        tick_seconds=0.5,
        max_message_chars=200,
        action_endpoint_token=ACTION_TOKEN,
        rate_limit_api_key="100000/minute",
        rate_limit_client="100000/minute",
        rate_limit_auth_failures="100000/minute",
    )


def operations(api: FuzzedApi) -> list[Operation]:
    """Every operation of the spec (a broken spec fails here)."""
    found = []
    for result in api.schema.get_all_operations():
        assert isinstance(result, Ok), result
        found.append(result.ok())
    return found


def fuzz(operation: Operation, api: FuzzedApi, mode: GenerationMode, checks: list[Any]) -> None:
    """Send `EXAMPLES_PER_OPERATION` seeded cases of `mode` and validate every answer against the spec."""
    strategy = operation.as_strategy(generation_mode=mode, **api.fixed_for(operation))

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: Case[Operation]) -> None:
        case.call_and_validate(checks=checks)

    run()


@pytest.mark.parametrize(
    ("mode", "checks"),
    [
        pytest.param(GenerationMode.POSITIVE, CHECKS, id="valid-requests"),
        pytest.param(GenerationMode.NEGATIVE, [*CHECKS, negative_data_rejection], id="invalid-requests"),
    ],
)
def test_every_operation_answers_as_its_spec_says(api: FuzzedApi, mode: GenerationMode, checks: list[Any]) -> None:
    found = operations(api)
    assert {"/api/v1/conversations/{conversation_id}/messages", "/api/v1/staff/login", "/webhook"} <= {
        operation.path for operation in found
    }
    for operation in found:
        if mode is GenerationMode.NEGATIVE and not api.generated_inputs(operation):
            continue
        try:
            fuzz(operation, api, mode, checks)
        except Exception as failure:
            failure.add_note(f"while fuzzing {operation.label} with {mode.value} requests")
            raise
