"""Staff access tokens: HS256, audience "staff", with the member's token version and session id."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from handoff_api.client_tokens import issue_client_token
from handoff_api.settings import Settings
from handoff_api.staff.auth import InvalidToken, decode_staff_token, issue_staff_token, read_staff_token
from handoff_api.staff.staff_tokens import refusal
from routing.models import QueueName, Role, Staff

NOW = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
SECRET = "one-secret-long-enough-for-the-tests-000"


def settings() -> Settings:
    return Settings(_env_file=None, staff_token_secret=SECRET, client_token_secret="the-client-apps-secret-" + "0" * 16)


def advisor(version: int = 3) -> Staff:
    return Staff("adv01", "王芳", Role.ADVISOR, frozenset({QueueName.ADVISOR}), 8, "sh-lujiazui", token_version=version)


def test_staff_token_carries_sub_role_version_session_and_the_configured_lifetime() -> None:
    token = issue_staff_token(settings(), advisor(), "s1", NOW)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="staff", options={"verify_exp": False})
    assert (claims["sub"], claims["role"], claims["ver"], claims["sid"]) == ("adv01", "advisor", 3, "s1")
    assert claims["exp"] - claims["iat"] == settings().staff_token_minutes * 60
    read = read_staff_token(settings(), token, NOW + timedelta(minutes=1))
    assert (read.staff_id, read.version, read.session_id) == ("adv01", 3, "s1")
    assert read.expires_at == NOW + timedelta(minutes=settings().staff_token_minutes)
    assert decode_staff_token(settings(), token, NOW) == "adv01"


def test_a_token_without_version_or_session_cannot_be_revoked_so_it_is_refused() -> None:
    exp = int((NOW + timedelta(minutes=30)).timestamp())
    legacy = jwt.encode(
        {"sub": "adv01", "role": "advisor", "aud": "staff", "iat": int(NOW.timestamp()), "exp": exp}, SECRET
    )
    with pytest.raises(InvalidToken) as refused:
        decode_staff_token(settings(), legacy, NOW)
    assert refused.value.reason == "invalid token"


def test_staff_tokens_are_not_signed_with_the_client_token_secret() -> None:
    client_secret = settings().client_token_secret
    assert client_secret is not None
    exp = int((NOW + timedelta(minutes=30)).timestamp())
    claims = {"sub": "admin", "role": "admin", "ver": 0, "sid": "x", "aud": "staff", "iat": int(NOW.timestamp())}
    forged = jwt.encode({**claims, "exp": exp}, client_secret.get_secret_value())  # what a client app could sign
    with pytest.raises(InvalidToken) as refused:
        decode_staff_token(settings(), forged, NOW)
    assert refused.value.reason == "invalid token"


def test_expired_and_client_tokens_are_refused_with_a_reason() -> None:
    token = issue_staff_token(settings(), advisor(), "s1", NOW)
    later = NOW + timedelta(minutes=settings().staff_token_minutes)
    with pytest.raises(InvalidToken) as expired:
        decode_staff_token(settings(), token, later)
    assert expired.value.reason == "token expired"
    with pytest.raises(InvalidToken) as wrong_audience:
        decode_staff_token(settings(), issue_client_token(settings(), "C10001", NOW), NOW)
    assert wrong_audience.value.reason == "invalid token"


def test_a_bumped_version_or_a_disabled_member_refuses_the_token() -> None:
    claims = read_staff_token(settings(), issue_staff_token(settings(), advisor(3), "s1", NOW), NOW)
    assert refusal(advisor(3), claims) is None
    assert refusal(advisor(4), claims) == "token revoked"
    assert refusal(dataclasses.replace(advisor(3), active=False), claims) == "staff member disabled"
    assert refusal(None, claims) == "unknown staff member"
