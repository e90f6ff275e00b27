"""Signed tokens: audience, required claims and expiry against the caller's clock, one error with a reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from handoff_api.tokens import InvalidToken, decode_token, issue_token

SECRET = "one-secret-long-enough-for-the-tests-000"
NOW = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


def reason(token: str, audience: str = "staff", required: tuple[str, ...] = ("sub",), now: datetime = NOW) -> str:
    with pytest.raises(InvalidToken) as refused:
        decode_token(SECRET, token, audience, required, now)
    return refused.value.reason


def test_round_trip_keeps_the_claims_and_gives_the_expiry() -> None:
    token = issue_token(SECRET, "staff", {"sub": "adv01", "role": "advisor"}, NOW, HOUR)
    verified = decode_token(SECRET, token, "staff", ["sub"], NOW + timedelta(minutes=59))
    assert verified.claims["sub"] == "adv01" and verified.claims["role"] == "advisor"
    assert verified.expires_at == NOW + HOUR
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["aud"] == "staff" and raw["iat"] == int(NOW.timestamp()) and raw["exp"] == int((NOW + HOUR).timestamp())


def test_each_refusal_names_its_reason() -> None:
    token = issue_token(SECRET, "staff", {"sub": "adv01"}, NOW, HOUR)
    assert reason("") == "missing token"
    assert reason("not-a-jwt") == "invalid token"
    assert reason(token, now=NOW + HOUR) == "token expired"
    assert reason(token, audience="client") == "invalid token"
    assert reason(token, required=("client_id",)) == "invalid token"
    assert reason(issue_token("another-secret-long-enough-for-tests-000", "staff", {"sub": "x"}, NOW, HOUR)) == (
        "invalid token"
    )


def test_a_token_issued_in_the_future_or_not_yet_valid_is_refused() -> None:
    future = issue_token(SECRET, "staff", {"sub": "adv01"}, NOW + timedelta(minutes=10), HOUR)
    assert reason(future) == "invalid token"
    not_before = jwt.encode(
        {
            "sub": "adv01",
            "aud": "staff",
            "exp": int((NOW + HOUR).timestamp()),
            "nbf": int((NOW + HOUR / 2).timestamp()),
        },
        SECRET,
    )
    assert reason(not_before) == "invalid token"


def test_a_token_without_expiry_or_with_a_non_numeric_one_is_refused() -> None:
    assert reason(jwt.encode({"sub": "adv01", "aud": "staff"}, SECRET)) == "invalid token"
    assert reason(jwt.encode({"sub": "adv01", "aud": "staff", "exp": "soon"}, SECRET)) == "invalid token"
