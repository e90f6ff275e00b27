"""Parsing the outer callback and the inner messages; malformed and hostile XML is refused."""

from __future__ import annotations

import pytest

from handoff_api.wecom.parser import (
    EventMessage,
    KfMsgOrEventMessage,
    TextMessage,
    UnsupportedMessage,
    WeComParseError,
    parse_envelope,
    parse_message,
)

TEXT_XML = (
    "<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><FromUserName><![CDATA[zhangsan]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[两融怎么开通？]]></Content><MsgId>4561255354251345929</MsgId><AgentID>1000002</AgentID></xml>"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    "<xml><ToUserName>x</ToUserName><Encrypt>&lol3;</Encrypt></xml>"
)


def test_envelope_fields():
    envelope = parse_envelope(
        b"<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><Encrypt><![CDATA[abc==]]></Encrypt>"
        b"<AgentID><![CDATA[1000002]]></AgentID></xml>"
    )
    assert (envelope.to_user_name, envelope.encrypt, envelope.agent_id) == ("ww-corp", "abc==", "1000002")


def test_envelope_without_agent_id_is_accepted():
    assert parse_envelope("<xml><ToUserName>c</ToUserName><Encrypt>e</Encrypt></xml>").agent_id is None


def test_text_message():
    message = parse_message(TEXT_XML)
    assert message == TextMessage(
        to_user_name="ww-corp",
        from_user_name="zhangsan",
        create_time=1700000000,
        content="两融怎么开通？",
        msg_id="4561255354251345929",
        agent_id="1000002",
    )


def test_event_message_keeps_all_fields():
    message = parse_message(
        "<xml><ToUserName>c</ToUserName><FromUserName>lisi</FromUserName><CreateTime>1700000001</CreateTime>"
        "<MsgType>event</MsgType><Event>enter_agent</Event><EventKey></EventKey><AgentID>1</AgentID></xml>"
    )
    assert isinstance(message, EventMessage)
    assert (message.event, message.from_user_name, message.create_time) == ("enter_agent", "lisi", 1700000001)
    assert message.fields["AgentID"] == "1"


def test_kf_msg_or_event():
    message = parse_message(
        "<xml><ToUserName><![CDATA[ww-corp]]></ToUserName><CreateTime>1700000002</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
        "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>"
        "<OpenKfId><![CDATA[wkABCDEF]]></OpenKfId></xml>"
    )
    assert message == KfMsgOrEventMessage(
        to_user_name="ww-corp",
        create_time=1700000002,
        token="ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR",
        open_kfid="wkABCDEF",
    )


@pytest.mark.parametrize("msg_type", ["image", "voice", "video", "location", "link", "file"])
def test_other_types_are_unsupported(msg_type):
    message = parse_message(
        f"<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName><CreateTime>1</CreateTime>"
        f"<MsgType>{msg_type}</MsgType><MediaId>m</MediaId><MsgId>99</MsgId><AgentID>1</AgentID></xml>"
    )
    assert message == UnsupportedMessage("c", "u", 1, msg_type, "99", "1")


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "<xml>",
        "not xml at all",
        "<notxml><MsgType>text</MsgType></notxml>",
        pytest.param("<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime></xml>", id="no-msgtype"),
        pytest.param(
            "<xml><MsgType>text</MsgType><FromUserName>u</FromUserName><CreateTime>1</CreateTime></xml>",
            id="no-msgid",
        ),
        "<xml><MsgType>text</MsgType><FromUserName>u</FromUserName><CreateTime>x</CreateTime><MsgId>1</MsgId></xml>",
        pytest.param(
            "<xml><MsgType>event</MsgType><Event>kf_msg_or_event</Event><CreateTime>1</CreateTime></xml>",
            id="kf-without-token",
        ),
    ],
)
def test_malformed_messages_are_refused(xml):
    with pytest.raises(WeComParseError):
        parse_message(xml)


def test_envelope_without_encrypt_is_refused():
    with pytest.raises(WeComParseError):
        parse_envelope("<xml><ToUserName>c</ToUserName></xml>")


@pytest.mark.parametrize(
    "hostile",
    [
        BILLION_LAUGHS,
        BILLION_LAUGHS.encode("utf-16"),
        '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>',
        "<!DOCTYPE xml><xml><Encrypt>e</Encrypt></xml>",
    ],
)
def test_dtds_and_entities_are_refused(hostile):
    with pytest.raises(WeComParseError, match="forbidden"):
        parse_envelope(hostile)
    with pytest.raises(WeComParseError):
        parse_message(hostile)
