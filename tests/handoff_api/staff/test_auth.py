"""Staff tokens: the same token format as before the shared tokens module (HS256, audience "staff")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from handoff_api.client_tokens import issue_client_token
from handoff_api.settings import Settings
from handoff_api.staff.auth import InvalidToken, decode_staff_token, issue_staff_token
from routing.models import QueueName, Role, Staff

NOW = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
SECRET = "one-secret-long-enough-for-the-tests-000"


def settings() -> Settings:
    return Settings(_env_file=None, staff_token_secret=SECRET, client_token_secret="the-client-apps-secret-" + "0" * 16)


def advisor() -> Staff:
    return Staff("adv01", "王芳", Role.ADVISOR, frozenset({QueueName.ADVISOR}), 8, "sh-lujiazui")


def test_staff_token_carries_sub_role_and_the_configured_lifetime() -> None:
    token = issue_staff_token(settings(), advisor(), NOW)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="staff", options={"verify_exp": False})
    assert claims["sub"] == "adv01" and claims["role"] == "advisor"
    assert claims["exp"] - claims["iat"] == settings().staff_token_minutes * 60
    assert decode_staff_token(settings(), token, NOW + timedelta(minutes=1)) == "adv01"


def test_a_token_signed_elsewhere_with_the_old_format_is_still_accepted() -> None:
    exp = int((NOW + timedelta(minutes=30)).timestamp())
    legacy = jwt.encode(
        {"sub": "adv01", "role": "advisor", "aud": "staff", "iat": int(NOW.timestamp()), "exp": exp}, SECRET
    )
    assert decode_staff_token(settings(), legacy, NOW) == "adv01"


def test_staff_tokens_are_not_signed_with_the_client_token_secret() -> None:
    client_secret = settings().client_token_secret
    assert client_secret is not None
    exp = int((NOW + timedelta(minutes=30)).timestamp())
    claims = {"sub": "admin", "role": "admin", "aud": "staff", "iat": int(NOW.timestamp()), "exp": exp}
    forged = jwt.encode(claims, client_secret.get_secret_value())  # what a client app could sign
    with pytest.raises(InvalidToken) as refused:
        decode_staff_token(settings(), forged, NOW)
    assert refused.value.reason == "invalid token"


def test_expired_and_client_tokens_are_refused_with_a_reason() -> None:
    token = issue_staff_token(settings(), advisor(), NOW)
    later = NOW + timedelta(minutes=settings().staff_token_minutes)
    with pytest.raises(InvalidToken) as expired:
        decode_staff_token(settings(), token, later)
    assert expired.value.reason == "token expired"
    with pytest.raises(InvalidToken) as wrong_audience:
        decode_staff_token(settings(), issue_client_token(settings(), "C10001", NOW), NOW)
    assert wrong_audience.value.reason == "invalid token"
