"""Who a WeCom message comes from, and how to send to them: the identity, its link to a conversation.

A WeCom identity is a 微信客服 user (reached with kf/send_msg through a 微信客服 account), an external
contact (reached the same way when a default account is configured), or a corp member writing to
the app (reached with message/send).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from handoff_api.wecom.client import SendResult


class IdentityKind(StrEnum):
    """How a WeCom identity writes in, and so how it is reached (not who wrote a message: see routing.models)."""

    EXTERNAL_CONTACT = "external_contact"
    """An external contact writing to the app (reached through the default 微信客服 account)."""
    KF = "kf"
    """A 微信客服 user (reached with kf/send_msg through their account)."""
    STAFF = "staff"
    """A corp member writing to the app (reached with message/send); not necessarily in the staff directory."""


@dataclass(frozen=True, slots=True)
class InboundText:
    """A client's or staff member's text, ready for the conversation flow."""

    wecom_user_id: str
    text: str
    msg_id: str
    received_at: datetime
    kind: IdentityKind
    open_kfid: str | None = None
    agent_id: str | None = None


class ClientSender(Protocol):
    """The part of WeComClient that reaches clients and staff."""

    async def send_text(self, user_ids: Sequence[str], content: str) -> SendResult: ...

    async def send_kf_text(self, external_userid: str, open_kfid: str, content: str) -> SendResult: ...


class NoRouteError(RuntimeError):
    """A WeCom identity cannot be reached (an external contact without a 微信客服 account configured)."""


@dataclass(frozen=True, slots=True)
class WeComIdentity:
    """Whom to send to in WeCom: the user id, how they wrote in, and their 微信客服 account if any."""

    user_id: str
    kind: IdentityKind
    open_kfid: str | None = None

    @classmethod
    def of(cls, message: InboundText) -> WeComIdentity:
        """The identity an inbound text came from."""
        return cls(message.wecom_user_id, message.kind, message.open_kfid)


@dataclass(frozen=True, slots=True)
class ConversationLink:
    """A conversation held through WeCom: who the client is there and how to reach them."""

    conversation_id: str
    wecom_user_id: str
    client_id: str
    kind: IdentityKind
    open_kfid: str | None
    created_at: datetime
    relayed_seq: int = 0

    @property
    def identity(self) -> WeComIdentity:
        """Whom replies of this conversation go to."""
        return WeComIdentity(self.wecom_user_id, self.kind, self.open_kfid)


async def send_to_identity(
    sender: ClientSender, identity: WeComIdentity, text: str, *, default_open_kfid: str | None = None
) -> SendResult:
    """Customer-service send (kf/send_msg) for 微信客服 users and external contacts; message/send for corp members."""
    kind = identity.kind
    if kind is IdentityKind.KF or (kind is IdentityKind.EXTERNAL_CONTACT and default_open_kfid):
        account = identity.open_kfid or default_open_kfid
        if not account:
            raise NoRouteError(f"no 微信客服 account to reach {kind} user {identity.user_id}")
        return await sender.send_kf_text(identity.user_id, account, text)
    if kind is IdentityKind.EXTERNAL_CONTACT:
        raise NoRouteError(f"external contact {identity.user_id} needs WECOM_OPEN_KFID to be reached")
    return await sender.send_text([identity.user_id], text)
