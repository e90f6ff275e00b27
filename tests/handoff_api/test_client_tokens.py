"""Client tokens signed with the shared secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from handoff_api.client_tokens import InvalidClientToken, decode_client_token, issue_client_token, read_client_token
from handoff_api.settings import Settings
from handoff_api.token_secrets import client_token_secret

NOW = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)


def settings(secret: str = "one-secret-long-enough-for-the-tests-000") -> Settings:
    return Settings(_env_file=None, secret_key=secret)


def test_round_trip_and_claims() -> None:
    token = issue_client_token(settings(), "C10001", datetime.now(UTC))
    assert decode_client_token(settings(), token, datetime.now(UTC)) == "C10001"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == "client" and claims["exp"] - claims["iat"] == 3600


def test_expired_forged_and_staff_tokens_are_refused() -> None:
    now = datetime.now(UTC)
    expired = issue_client_token(settings(), "C10001", now=now - timedelta(hours=2))
    with pytest.raises(InvalidClientToken, match="token expired"):
        decode_client_token(settings(), expired, now)
    forged = issue_client_token(settings("another-secret-long-enough-for-tests-000"), "C10001", now)
    with pytest.raises(InvalidClientToken, match="invalid token"):
        decode_client_token(settings(), forged, now)
    staff_like = jwt.encode(
        {"sub": "adv01", "aud": "staff", "iat": int(now.timestamp()), "exp": 2_000_000_000},
        client_token_secret(settings()),
    )
    with pytest.raises(InvalidClientToken, match="invalid token"):
        decode_client_token(settings(), staff_like, now)
    with pytest.raises(InvalidClientToken, match="missing token"):
        decode_client_token(settings(), "", now)


def test_client_id_is_checked_when_issuing() -> None:
    with pytest.raises(ValueError, match="client_id"):
        issue_client_token(settings(), "", NOW)


def test_expiry_follows_the_given_clock_not_the_system_clock() -> None:
    token = issue_client_token(settings(), "C10001", NOW, lifetime=timedelta(minutes=5))
    identity = read_client_token(settings(), token, NOW + timedelta(minutes=4))
    assert identity.client_id == "C10001" and identity.expires_at == NOW + timedelta(minutes=5)
    with pytest.raises(InvalidClientToken, match="token expired"):
        read_client_token(settings(), token, NOW + timedelta(minutes=5))


def test_a_client_id_that_is_not_a_short_string_is_refused() -> None:
    secret = client_token_secret(settings())
    issued = int(NOW.timestamp())
    for client_id in (42, "", "C" * 65):
        token = jwt.encode({"client_id": client_id, "aud": "client", "iat": issued, "exp": issued + 600}, secret)
        with pytest.raises(InvalidClientToken, match="invalid token"):
            read_client_token(settings(), token, NOW)


def test_tokens_beyond_the_maximum_lifetime_are_neither_issued_nor_accepted() -> None:
    short = Settings(_env_file=None, secret_key="one-secret-long-enough-for-the-tests-000", client_token_max_minutes=60)
    with pytest.raises(ValueError, match="at most 60 minutes"):
        issue_client_token(short, "C10001", NOW, lifetime=timedelta(minutes=61))
    secret = client_token_secret(short)
    issued = int(NOW.timestamp())
    too_long = jwt.encode({"client_id": "C10001", "aud": "client", "iat": issued, "exp": issued + 3601}, secret)
    with pytest.raises(InvalidClientToken, match="lifetime exceeds CLIENT_TOKEN_MAX_MINUTES"):
        read_client_token(short, too_long, NOW)
    undated = jwt.encode({"client_id": "C10001", "aud": "client", "exp": issued + 600}, secret)
    with pytest.raises(InvalidClientToken, match="invalid token"):
        read_client_token(short, undated, NOW)
    exactly = jwt.encode({"client_id": "C10001", "aud": "client", "iat": issued, "exp": issued + 3600}, secret)
    assert read_client_token(short, exactly, NOW).client_id == "C10001"
