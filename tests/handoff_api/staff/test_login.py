"""Staff sign-in hardening: back-off per id and per address, a hash verified for unknown ids, audit lines."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from handoff_api.container import Container
from handoff_api.settings import Settings
from handoff_api.staff.passwords import PasswordVerifier
from routing.passwords import verify_password
from tests.handoff_api.staff.test_routes import audit_entries

LOGIN = "/api/v1/staff/login"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rate_limit_staff_login_id": "3/minute", "rate_limit_staff_login_address": "5/minute"}
    )


def attempt(client: TestClient, staff_id: str, password: str) -> int:
    return client.post(LOGIN, json={"staff_id": staff_id, "password": password}).status_code


def test_failures_of_one_id_back_off_with_retry_after(client: TestClient) -> None:
    assert [attempt(client, "svc01", "wrong") for _ in range(3)] == [401, 401, 401]
    blocked = client.post(LOGIN, json={"staff_id": "svc01", "password": "demo1234"})  # even the right password
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert blocked.json()["error"] == "RateLimited"
    assert attempt(client, " SVC01 ", "demo1234") == 429  # case and blanks are the same id
    assert attempt(client, "svc02", "demo1234") == 200  # another id is not held back


def test_failures_from_one_address_back_off_across_ids(client: TestClient) -> None:
    statuses = [attempt(client, f"nobody{n}", "wrong") for n in range(5)]
    assert statuses == [401] * 5  # five failures fill the address's window (each id failed once)
    assert attempt(client, "svc01", "demo1234") == 429


def test_unknown_and_known_ids_both_verify_a_hash(client: TestClient) -> None:
    verified: list[str | None] = []

    def spy(stored_hash: str | None, password: str) -> bool:
        verified.append(stored_hash)
        return verify_password(stored_hash, password)

    container: Container = client.app.state.container  # type: ignore[attr-defined]
    container.passwords = PasswordVerifier(1, verify=spy)
    assert attempt(client, "ghost", "whatever") == 401
    assert attempt(client, "svc01", "wrong") == 401
    assert attempt(client, "svc01", "demo1234") == 200
    assert len(verified) == 3
    assert all(isinstance(h, str) and h.startswith("$argon2id$") for h in verified)
    assert verified[0] != verified[1] == verified[2]  # a dummy hash for the unknown id, the stored one else


def test_each_failure_is_audited_with_the_typed_id_masked(client: TestClient) -> None:
    assert attempt(client, "13812345678", "wrong") == 401
    assert attempt(client, "svc01", "wrong") == 401
    assert attempt(client, "svc01", "demo1234") == 200
    entries = [e for e in audit_entries(client) if e.action.startswith("staff.login")]
    assert [(e.actor, e.action, e.detail.get("reason")) for e in entries] == [
        ("138****5678", "staff.login_failed", "wrong_credentials"),
        ("svc01", "staff.login_failed", "wrong_credentials"),
        ("svc01", "staff.login", None),
    ]
    assert "13812345678" not in str([(e.actor, e.subject, e.detail) for e in audit_entries(client)])
