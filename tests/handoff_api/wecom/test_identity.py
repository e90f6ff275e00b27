"""Sending to a WeCom identity: 微信客服 users and external contacts by kf/send_msg, corp members by message/send."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff_api.wecom.identity import IdentityKind, InboundText, NoRouteError, WeComIdentity, send_to_identity
from tests.handoff_api.wecom.doubles import RecordingOutbound

EXTERNAL = "wmAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"


async def test_a_kf_user_is_reached_through_their_own_account_first() -> None:
    sender = RecordingOutbound()
    await send_to_identity(
        sender, WeComIdentity(EXTERNAL, IdentityKind.KF, "wkOWN"), "您好", default_open_kfid="wkDEFAULT"
    )
    await send_to_identity(sender, WeComIdentity(EXTERNAL, IdentityKind.KF), "再见", default_open_kfid="wkDEFAULT")
    assert sender.kf_texts == [(EXTERNAL, "wkOWN", "您好"), (EXTERNAL, "wkDEFAULT", "再见")] and sender.texts == []


async def test_an_external_contact_needs_the_default_account() -> None:
    sender = RecordingOutbound()
    await send_to_identity(
        sender, WeComIdentity(EXTERNAL, IdentityKind.EXTERNAL_CONTACT), "您好", default_open_kfid="wkKF"
    )
    assert sender.kf_texts == [(EXTERNAL, "wkKF", "您好")]
    with pytest.raises(NoRouteError, match="WECOM_OPEN_KFID"):
        await send_to_identity(sender, WeComIdentity(EXTERNAL, IdentityKind.EXTERNAL_CONTACT), "您好")
    with pytest.raises(NoRouteError, match="no 微信客服 account"):
        await send_to_identity(sender, WeComIdentity(EXTERNAL, IdentityKind.KF), "您好")


async def test_a_corp_member_is_reached_through_the_app() -> None:
    sender = RecordingOutbound()
    await send_to_identity(sender, WeComIdentity("zhangsan", IdentityKind.STAFF), "您好", default_open_kfid="wkKF")
    assert sender.texts == [(("zhangsan",), "您好")] and sender.kf_texts == []


def test_the_identity_of_an_inbound_text() -> None:
    message = InboundText(EXTERNAL, "你好", "m1", datetime.now(UTC), IdentityKind.KF, open_kfid="wkKF")
    assert WeComIdentity.of(message) == WeComIdentity(EXTERNAL, IdentityKind.KF, "wkKF")
