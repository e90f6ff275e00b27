"""Parse WeCom callback XML (the outer envelope and the decrypted inner message) into dataclasses.

DTDs and entities are refused outright (defusedxml), so entity-expansion bombs never expand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

KF_EVENT = "kf_msg_or_event"


class WeComParseError(ValueError):
    """The XML is malformed, forbidden (DTD/entities) or lacks a required field."""


@dataclass(frozen=True, slots=True)
class CallbackEnvelope:
    """The outer callback body: who it is for and the encrypted payload."""

    to_user_name: str
    encrypt: str
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A text message sent to the application."""

    to_user_name: str
    from_user_name: str
    create_time: int
    content: str
    msg_id: str
    agent_id: str | None
    msg_type: str = "text"


@dataclass(frozen=True, slots=True)
class EventMessage:
    """An event (subscribe, enter_agent, change_external_contact, ...); fields holds every child."""

    to_user_name: str
    from_user_name: str
    create_time: int
    event: str
    agent_id: str | None
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    msg_type: str = "event"


@dataclass(frozen=True, slots=True)
class KfMsgOrEventMessage:
    """微信客服 notification: new messages wait to be pulled with kf/sync_msg using this token."""

    to_user_name: str
    create_time: int
    token: str
    open_kfid: str
    msg_type: str = "event"
    event: str = KF_EVENT


@dataclass(frozen=True, slots=True)
class UnsupportedMessage:
    """A message type the channel does not handle (image, voice, video, file, location, link, ...)."""

    to_user_name: str
    from_user_name: str
    create_time: int
    msg_type: str
    msg_id: str | None
    agent_id: str | None


InboundMessage = TextMessage | EventMessage | KfMsgOrEventMessage | UnsupportedMessage


def _parse_root(xml: str | bytes) -> Element:
    try:
        root: Element = fromstring(xml, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise WeComParseError(f"forbidden XML construct: {type(exc).__name__}") from exc
    except (ParseError, ValueError) as exc:
        raise WeComParseError("malformed XML") from exc
    if root.tag != "xml":
        raise WeComParseError("root element must be <xml>")
    return root


def _children(root: Element) -> dict[str, str]:
    return {child.tag: (child.text or "").strip() for child in root}


def _required(values: Mapping[str, str], name: str) -> str:
    value = values.get(name)
    if not value:
        raise WeComParseError(f"missing <{name}>")
    return value


def _optional(values: Mapping[str, str], name: str) -> str | None:
    return values.get(name) or None


def _create_time(values: Mapping[str, str]) -> int:
    raw = _required(values, "CreateTime")
    if not (raw.isascii() and raw.isdigit()):
        raise WeComParseError("CreateTime is not an integer")
    return int(raw)


def parse_envelope(xml: str | bytes) -> CallbackEnvelope:
    """Parse the outer callback body <xml><ToUserName/><Encrypt/><AgentID/></xml>."""
    values = _children(_parse_root(xml))
    return CallbackEnvelope(
        to_user_name=values.get("ToUserName", ""),
        encrypt=_required(values, "Encrypt"),
        agent_id=_optional(values, "AgentID"),
    )


def parse_message(xml: str | bytes) -> InboundMessage:
    """Parse the decrypted inner message into its typed dataclass."""
    values = _children(_parse_root(xml))
    msg_type = _required(values, "MsgType")
    to_user = values.get("ToUserName", "")
    if msg_type == "event":
        event = _required(values, "Event")
        if event == KF_EVENT:
            return KfMsgOrEventMessage(
                to_user_name=to_user,
                create_time=_create_time(values),
                token=_required(values, "Token"),
                open_kfid=_required(values, "OpenKfId"),
            )
        return EventMessage(
            to_user_name=to_user,
            from_user_name=values.get("FromUserName", ""),
            create_time=_create_time(values),
            event=event,
            agent_id=_optional(values, "AgentID"),
            fields=MappingProxyType(values),
        )
    if msg_type == "text":
        return TextMessage(
            to_user_name=to_user,
            from_user_name=_required(values, "FromUserName"),
            create_time=_create_time(values),
            content=values.get("Content", ""),
            msg_id=_required(values, "MsgId"),
            agent_id=_optional(values, "AgentID"),
        )
    return UnsupportedMessage(
        to_user_name=to_user,
        from_user_name=_required(values, "FromUserName"),
        create_time=_create_time(values),
        msg_type=msg_type,
        msg_id=_optional(values, "MsgId"),
        agent_id=_optional(values, "AgentID"),
    )
