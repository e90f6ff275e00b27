"""Client tokens signed with the shared secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from handoff_api.client_tokens import InvalidClientToken, decode_client_token, issue_client_token
from handoff_api.settings import Settings


def settings(secret: str = "one-secret-long-enough-for-the-tests-000") -> Settings:
    return Settings(_env_file=None, secret_key=secret)


def test_round_trip_and_claims() -> None:
    token = issue_client_token(settings(), "C10001")
    assert decode_client_token(settings(), token) == "C10001"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "client" and claims["exp"] - claims["iat"] == 3600


def test_expired_forged_and_staff_tokens_are_refused() -> None:
    expired = issue_client_token(settings(), "C10001", now=datetime.now(UTC) - timedelta(hours=2))
    with pytest.raises(InvalidClientToken, match="token expired"):
        decode_client_token(settings(), expired)
    forged = issue_client_token(settings("another-secret-long-enough-for-tests-000"), "C10001")
    with pytest.raises(InvalidClientToken, match="invalid token"):
        decode_client_token(settings(), forged)
    staff_like = jwt.encode(
        {"sub": "adv01", "aud": "staff", "exp": 2_000_000_000}, "one-secret-long-enough-for-the-tests-000"
    )
    with pytest.raises(InvalidClientToken, match="invalid token"):
        decode_client_token(settings(), staff_like)
    with pytest.raises(InvalidClientToken, match="missing token"):
        decode_client_token(settings(), "")


def test_client_id_is_checked_when_issuing() -> None:
    with pytest.raises(ValueError, match="client_id"):
        issue_client_token(settings(), "")
