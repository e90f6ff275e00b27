"""微信客服 messages: read from kf/sync_msg entries, stored in the inbox and read back."""

from __future__ import annotations

from handoff_api.wecom.kf import KF_ORIGIN_CLIENT, kf_cursor_key, kf_from_payload, kf_message_from_api, kf_payload

ENTRY = {
    "msgid": "m1",
    "open_kfid": "wkKF",
    "external_userid": "wmEXTERNAL",
    "send_time": 1700000000,
    "origin": 3,
    "msgtype": "text",
    "text": {"content": "开户需要什么材料？"},
}


def test_a_text_entry_becomes_a_client_message() -> None:
    message = kf_message_from_api(ENTRY)
    assert (message.msg_id, message.open_kfid, message.external_userid) == ("m1", "wkKF", "wmEXTERNAL")
    assert (message.origin, message.msg_type, message.text) == (KF_ORIGIN_CLIENT, "text", "开户需要什么材料？")
    assert message.raw == ENTRY


def test_other_types_carry_no_text_and_missing_fields_are_empty() -> None:
    image = kf_message_from_api({**ENTRY, "msgtype": "image", "image": {"media_id": "x"}})
    assert (image.msg_type, image.text) == ("image", None)
    assert kf_message_from_api({}).msg_id == "" and kf_message_from_api({}).send_time == 0


def test_the_stored_form_round_trips_without_the_raw_entry() -> None:
    message = kf_message_from_api(ENTRY)
    payload = kf_payload(message)
    assert "raw" not in payload
    restored = kf_from_payload(payload)
    assert (restored.msg_id, restored.external_userid, restored.text) == ("m1", "wmEXTERNAL", message.text)
    assert restored.raw == {}


def test_the_cursor_key_names_corp_and_account() -> None:
    assert kf_cursor_key("ww1", "wkA") == "tre:wecom:kf_cursor:ww1:wkA"  # the key stored cursors always had
