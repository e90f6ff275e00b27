"""微信客服 (WeCom customer service) messages as kf/sync_msg returns them, and as the inbox stores them.

kf/sync_msg hands out messages from a cursor; the cursor after each page is stored together with
that page's messages (see handoff_api.wecom.inbox), so a crash between the two loses nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from routing.redis_keys import WECOM_KF_CURSOR as KF_CURSOR_KEY_TEMPLATE

KF_ORIGIN_CLIENT = 3
"""origin of a message the client wrote (4 = system, 5 = a servicer)."""
KF_CURSOR_TTL_SECONDS = 7 * 24 * 3600
"""How long a stored sync cursor is used (WeCom keeps 微信客服 messages for a few days only)."""
KF_SYNC_MAX_PAGES = 20
"""Pages pulled for one notification at most (1000 messages each)."""


def kf_cursor_key(corp_id: str, open_kfid: str) -> str:
    """Key of the kf/sync_msg cursor of one 微信客服 account (in the wecom_state table)."""
    return KF_CURSOR_KEY_TEMPLATE.format(corp_id=corp_id, open_kfid=open_kfid)


@dataclass(frozen=True, slots=True)
class KfMessage:
    """One message pulled with kf/sync_msg; origin 3 = the client, 4 = system, 5 = a servicer."""

    msg_id: str
    open_kfid: str
    external_userid: str
    send_time: int
    origin: int
    msg_type: str
    text: str | None
    raw: Mapping[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True, slots=True)
class KfSyncPage:
    """One kf/sync_msg answer: its messages, the cursor after them (None: unchanged), whether more follow."""

    messages: list[KfMessage]
    next_cursor: str | None
    has_more: bool


def kf_message_from_api(item: Mapping[str, Any]) -> KfMessage:
    """One entry of kf/sync_msg's msg_list."""
    msg_type = str(item.get("msgtype", ""))
    text = item.get("text")
    return KfMessage(
        msg_id=str(item.get("msgid", "")),
        open_kfid=str(item.get("open_kfid", "")),
        external_userid=str(item.get("external_userid", "")),
        send_time=int(item.get("send_time", 0)),
        origin=int(item.get("origin", 0)),
        msg_type=msg_type,
        text=str(text.get("content", "")) if msg_type == "text" and isinstance(text, dict) else None,
        raw=dict(item),
    )


def kf_payload(message: KfMessage) -> dict[str, Any]:
    """The message as the inbox stores it (without the raw API entry)."""
    fields = asdict(message)
    fields.pop("raw")
    return fields


def kf_from_payload(payload: Mapping[str, Any]) -> KfMessage:
    """The message back from its stored form."""
    return KfMessage(**payload)
