"""The callback endpoint: URL verification, verified + deduplicated message callbacks, refusals."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from handoff_api.wecom.crypto import WeComCrypto
from handoff_api.wecom.identity import InboundText
from handoff_api.wecom.inbox import InboxRetryPolicy, InboxStatus, MemoryInbox
from handoff_api.wecom.kf import KfMessage
from handoff_api.wecom.processor import UNSUPPORTED_REPLY, CallbackProcessor, WeComDeps, classify_sender
from handoff_api.wecom.router import make_wecom_router
from handoff_api.wecom.settings import WeComSettings
from tests.handoff_api.wecom.doubles import RecordingHandler, RecordingOutbound

CORP_ID = "wx5823bf96d3bd56c7"
TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
PATH = "/wecom/callback"
EXTERNAL_ID = "wmAJ2GCAAAXtWyujaWJHDDGi0mACAAAA"


def text_xml(msg_id: str = "1001", sender: str = "zhangsan", content: str = "两融怎么开通？") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{sender}]]></FromUserName>"
        f"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId><AgentID>1000002</AgentID></xml>"
    )


KF_EVENT = (
    "<xml><ToUserName>c</ToUserName><CreateTime>1700000100</CreateTime><MsgType>event</MsgType>"
    "<Event>kf_msg_or_event</Event><Token>SYNC-TOKEN</Token><OpenKfId>wkKF</OpenKfId></xml>"
)


def envelope(encrypt: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
        "<AgentID><![CDATA[1000002]]></AgentID></xml>"
    )


class BreakableInbox(MemoryInbox):
    """The in-memory inbox, which can be made to refuse new items (a database outage)."""

    broken = False

    async def add(self, key: str, kind: str, payload: Mapping[str, Any], **kwargs: Any) -> int | None:
        if self.broken:
            raise ConnectionError("database unavailable")
        return await super().add(key, kind, payload, **kwargs)


class Harness:
    def __init__(self) -> None:
        self.crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID, timestamp_skew_seconds=300)
        self.handler = RecordingHandler()
        self.outbound = RecordingOutbound()
        self.inbox = BreakableInbox()
        self.deps = WeComDeps(
            crypto=self.crypto,
            handler=self.handler,
            outbound=self.outbound,
            max_body_bytes=64 * 1024,
            inbox=self.inbox,
            inbox_retry=InboxRetryPolicy(max_attempts=3, backoff_base_seconds=0.01, lease_seconds=0.5),
        )
        self.processor = CallbackProcessor(self.deps)
        app = FastAPI()
        app.include_router(make_wecom_router(lambda _request: self.processor))
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    def signed(self, inner_xml: str, timestamp: str | None = None, nonce: str = "n123") -> tuple[dict[str, str], str]:
        timestamp = timestamp or str(int(time.time()))
        ciphertext, signature = self.crypto.encrypt(inner_xml, nonce, timestamp)
        return {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}, envelope(ciphertext)

    async def post(self, inner_xml: str, **kwargs: str) -> httpx.Response:
        params, body = self.signed(inner_xml, **kwargs)
        response = await self.http.post(PATH, params=params, content=body)
        await self.deps.tasks.join()
        return response


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    h = Harness()
    yield h
    await h.deps.tasks.aclose()
    await h.http.aclose()


async def test_get_verification_returns_exactly_the_plaintext(harness):
    timestamp = str(int(time.time()))
    echostr, signature = harness.crypto.encrypt("1616140317555161061", "263014780", timestamp)
    response = await harness.http.get(
        PATH,
        params={"msg_signature": signature, "timestamp": timestamp, "nonce": "263014780", "echostr": echostr},
    )
    assert response.status_code == 200
    assert response.content == b"1616140317555161061"
    assert response.headers["content-type"].startswith("text/plain")


async def test_get_verification_tolerates_an_unencoded_plus(harness):
    timestamp = str(int(time.time()))
    for attempt in range(64):
        echostr, signature = harness.crypto.encrypt(f"echo-{attempt}", "n", timestamp)
        if "+" in echostr:
            break
    else:
        pytest.fail("no + in 64 random ciphertexts")
    query = f"msg_signature={signature}&timestamp={timestamp}&nonce=n&echostr={echostr}"  # '+' not escaped
    response = await harness.http.get(f"{PATH}?{query}")
    assert response.status_code == 200 and response.text == f"echo-{attempt}"


async def test_get_verification_refusals(harness, caplog):
    timestamp = str(int(time.time()))
    echostr, signature = harness.crypto.encrypt("123", "n", timestamp)
    good = {"msg_signature": signature, "timestamp": timestamp, "nonce": "n", "echostr": echostr}
    with caplog.at_level(logging.WARNING):
        assert (await harness.http.get(PATH, params={**good, "msg_signature": "0" * 40})).status_code == 403
        assert (
            await harness.http.get(PATH, params={k: v for k, v in good.items() if k != "echostr"})
        ).status_code == 400
        stale = str(int(timestamp) - 3600)
        stale_echo, stale_sig = harness.crypto.encrypt("123", "n", stale)
        stale_params = {"msg_signature": stale_sig, "timestamp": stale, "nonce": "n", "echostr": stale_echo}
        assert (await harness.http.get(PATH, params=stale_params)).status_code == 403
    assert "InvalidSignatureError" in caplog.text and "StaleTimestampError" in caplog.text
    assert TOKEN not in caplog.text and AES_KEY not in caplog.text


async def test_text_message_reaches_the_handler(harness):
    response = await harness.post(text_xml())
    assert response.status_code == 200 and response.text == ""
    [message] = harness.handler.texts
    assert isinstance(message, InboundText)
    assert (message.wecom_user_id, message.text, message.msg_id, message.kind) == (
        "zhangsan",
        "两融怎么开通？",
        "1001",
        "staff",
    )
    assert message.received_at.timestamp() == 1700000000


async def test_external_contact_sender_is_classified():
    assert classify_sender(EXTERNAL_ID) == "external_contact"
    assert classify_sender("wangwu") == "staff"
    assert classify_sender("wong") == "staff"


async def test_duplicate_deliveries_are_handled_once(harness):
    for nonce in ("a", "b", "c"):  # WeCom's retries carry new nonces/signatures, same MsgId
        assert (await harness.post(text_xml(msg_id="777"), nonce=nonce)).status_code == 200
    assert [message.msg_id for message in harness.handler.texts] == ["777"]
    await harness.post(text_xml(msg_id="778"))
    assert [message.msg_id for message in harness.handler.texts] == ["777", "778"]


async def test_events_are_ignored_and_deduplicated_by_sender_and_time(harness, caplog):
    event = (
        "<xml><ToUserName>c</ToUserName><FromUserName>lisi</FromUserName><CreateTime>1700000005</CreateTime>"
        "<MsgType>event</MsgType><Event>enter_agent</Event><AgentID>1</AgentID></xml>"
    )
    with caplog.at_level(logging.INFO):
        assert (await harness.post(event)).status_code == 200
        assert (await harness.post(event, nonce="again")).status_code == 200
    assert harness.handler.texts == [] and harness.outbound.texts == []
    assert caplog.text.count("event enter_agent from lisi ignored") == 1
    assert "duplicate delivery wecom:event:lisi:1700000005:enter_agent" in caplog.text


@pytest.mark.parametrize("msg_type", ["image", "voice", "video", "location", "link"])
async def test_unsupported_types_from_staff_get_the_polite_notice(harness, msg_type):
    xml = (
        f"<xml><ToUserName>c</ToUserName><FromUserName>zhangwei</FromUserName><CreateTime>1</CreateTime>"
        f"<MsgType>{msg_type}</MsgType><MediaId>m</MediaId><MsgId>5{len(msg_type)}</MsgId><AgentID>1</AgentID></xml>"
    )
    assert (await harness.post(xml)).status_code == 200
    assert harness.outbound.texts == [(("zhangwei",), UNSUPPORTED_REPLY)]
    assert harness.handler.texts == []


async def test_unsupported_types_from_external_contacts_are_logged_not_sent_where_they_cannot_arrive(harness, caplog):
    xml = (
        f"<xml><ToUserName>c</ToUserName><FromUserName>{EXTERNAL_ID}</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>image</MsgType><MediaId>m</MediaId><MsgId>77</MsgId><AgentID>1</AgentID></xml>"
    )
    with caplog.at_level(logging.INFO):
        assert (await harness.post(xml)).status_code == 200
    assert harness.outbound.texts == [] and harness.handler.texts == []
    assert "image message 77 from an external contact ignored" in caplog.text


async def test_a_failing_handler_never_turns_into_a_500_and_the_message_is_retried(harness, caplog):
    harness.handler.fail = True
    with caplog.at_level(logging.WARNING):
        assert (await harness.post(text_xml(msg_id="900"))).status_code == 200
    assert "wecom inbox #1 failed (attempt 1)" in caplog.text and harness.handler.texts == []
    item = await harness.inbox.get(1)
    assert item is not None
    assert (item.status, item.attempts, item.last_error) == (InboxStatus.PENDING, 1, "RuntimeError: handler exploded")
    harness.handler.fail = False
    await asyncio.sleep(0.05)  # the backoff
    assert await harness.processor.inbox.retry_once() == 1
    assert [text.msg_id for text in harness.handler.texts] == ["900"]
    assert (await harness.inbox.get(item.id)).status is InboxStatus.HANDLED
    assert await harness.processor.inbox.retry_once() == 0


async def test_a_message_still_failing_after_the_last_attempt_is_kept_as_failed(harness, caplog):
    harness.handler.fail = True
    assert (await harness.post(text_xml(msg_id="901"))).status_code == 200
    with caplog.at_level(logging.ERROR):
        for _ in range(2):
            await asyncio.sleep(0.05)
            assert await harness.processor.inbox.retry_once() == 0
    [item] = [await harness.inbox.get(1)]
    assert item is not None and item.status is InboxStatus.FAILED and item.attempts == 3
    assert "wecom inbox #1 given up after 3 attempts" in caplog.text
    await asyncio.sleep(0.05)
    assert await harness.processor.inbox.retry_once() == 0 and harness.handler.texts == []


async def test_a_message_whose_worker_died_is_taken_over_after_the_lease(harness):
    item_id = await harness.processor.accept_callback(
        "wecom:msg:902", text_xml(msg_id="902")
    )  # stored, never attempted
    assert await harness.processor.inbox.retry_once() == 0  # still leased to the first attempt
    await asyncio.sleep(0.6)
    assert await harness.processor.inbox.retry_once() == 1
    assert [text.msg_id for text in harness.handler.texts] == ["902"]
    assert (await harness.inbox.get(item_id)).status is InboxStatus.HANDLED


async def test_a_message_that_cannot_be_stored_gets_503_and_is_taken_on_redelivery(harness, caplog):
    harness.inbox.broken = True
    with caplog.at_level(logging.ERROR):
        assert (await harness.post(text_xml(msg_id="903"))).status_code == 503
    assert "wecom callback wecom:msg:903 could not be stored" in caplog.text and harness.handler.texts == []
    harness.inbox.broken = False
    assert (await harness.post(text_xml(msg_id="903"))).status_code == 200  # WeCom's retry
    assert (await harness.post(text_xml(msg_id="903"))).status_code == 200  # and a duplicate of it
    assert [text.msg_id for text in harness.handler.texts] == ["903"]


async def test_a_kf_message_whose_handling_failed_is_retried_once_pulled(harness):
    harness.outbound.kf_inbox = [KfMessage("k1", "wkKF", EXTERNAL_ID, 1700000100, 3, "text", "开户需要什么材料？")]
    harness.handler.fail = True
    assert (await harness.post(KF_EVENT)).status_code == 200
    harness.outbound.kf_inbox = []  # the sync cursor has moved past it
    harness.handler.fail = False
    await asyncio.sleep(0.05)
    assert await harness.processor.inbox.retry_once() == 1
    [text] = harness.handler.texts
    assert (text.msg_id, text.kind, text.open_kfid, text.text) == ("k1", "kf", "wkKF", "开户需要什么材料？")


async def test_kf_event_pulls_messages_and_hands_client_texts_over(harness):
    harness.outbound.kf_inbox = [
        KfMessage("m1", "wkKF", EXTERNAL_ID, 1700000100, 3, "text", "开户需要什么材料？"),
        KfMessage("m2", "wkKF", EXTERNAL_ID, 1700000101, 5, "text", "servicer's own message"),
        KfMessage("m3", "wkKF", EXTERNAL_ID, 1700000102, 3, "image", None),
        KfMessage("m4", "wkKF", EXTERNAL_ID, 1700000103, 4, "event", None),
    ]
    kf_event = KF_EVENT
    assert (await harness.post(kf_event)).status_code == 200
    assert harness.outbound.kf_pulls == [("SYNC-TOKEN", "wkKF")]
    [text] = harness.handler.texts
    assert (text.kind, text.wecom_user_id, text.open_kfid, text.text) == (
        "kf",
        EXTERNAL_ID,
        "wkKF",
        "开户需要什么材料？",
    )
    assert harness.outbound.kf_texts == [(EXTERNAL_ID, "wkKF", UNSUPPORTED_REPLY)]
    # a second notification that re-delivers the same messages hands nothing over twice
    assert (await harness.post(kf_event.replace("SYNC-TOKEN", "SYNC-TOKEN-2"))).status_code == 200
    assert len(harness.handler.texts) == 1 and len(harness.outbound.kf_texts) == 1


async def test_refusals_have_the_right_status_and_no_secrets_in_logs(harness, caplog):
    params, body = harness.signed(text_xml())
    ciphertext = body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    raw = bytearray(base64.b64decode(ciphertext))
    raw[1] ^= 0x5A  # CBC: flips a high byte of the length field in the next block, deterministically
    tampered = base64.b64encode(bytes(raw)).decode()
    tampered_params = {
        **params,
        "msg_signature": harness.crypto.signature(params["timestamp"], "n123", tampered),
    }
    truncated = ciphertext[:-8]
    truncated_params = {
        **params,
        "msg_signature": harness.crypto.signature(params["timestamp"], "n123", truncated),
    }
    other = WeComCrypto(TOKEN, AES_KEY, "ww-another-corp")
    wrong_id_cipher, wrong_id_sig = other.encrypt(text_xml(), "n123", params["timestamp"])
    bad_inner_cipher, bad_inner_sig = harness.crypto.encrypt("<xml><MsgType>text", "n123", params["timestamp"])
    stale_params, stale_body = harness.signed(text_xml(), timestamp=str(int(time.time()) - 301))
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        "<xml><Encrypt>&lol2;</Encrypt></xml>"
    )
    cases = [
        ("wrong signature", {**params, "msg_signature": "f" * 40}, body, 403),
        ("missing signature", {k: v for k, v in params.items() if k != "msg_signature"}, body, 400),
        ("tampered", tampered_params, envelope(tampered), 400),
        ("truncated", truncated_params, envelope(truncated), 400),
        ("wrong receive id", {**params, "msg_signature": wrong_id_sig}, envelope(wrong_id_cipher), 403),
        ("malformed outer", params, "<xml><Encrypt>", 400),
        ("malformed inner", {**params, "msg_signature": bad_inner_sig}, envelope(bad_inner_cipher), 400),
        ("billion laughs", params, bomb, 400),
        ("stale", stale_params, stale_body, 403),
        ("oversized", params, envelope("A" * (64 * 1024 + 1)), 413),
    ]
    with caplog.at_level(logging.WARNING):
        for name, query, content, status in cases:
            response = await harness.http.post(PATH, params=query, content=content)
            assert response.status_code == status, name
    assert harness.handler.texts == []
    assert caplog.text.count("wecom callback POST refused") == len(cases)
    for secret in (TOKEN, AES_KEY):
        assert secret not in caplog.text


async def test_oversized_chunked_body_without_content_length_is_refused(harness):
    params, _ = harness.signed(text_xml())

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(80):
            yield b"A" * 1024

    response = await harness.http.post(PATH, params=params, content=chunks())
    assert response.status_code == 413


async def test_acknowledges_before_the_handler_finishes(harness):
    release = asyncio.Event()

    class SlowHandler:
        calls = 0

        async def handle_text(self, message: InboundText) -> None:
            await release.wait()
            SlowHandler.calls += 1

    harness.deps.handler = SlowHandler()
    params, body = harness.signed(text_xml(msg_id="slow"))
    response = await asyncio.wait_for(harness.http.post(PATH, params=params, content=body), timeout=2)
    assert response.status_code == 200 and SlowHandler.calls == 0
    assert len(harness.deps.tasks) == 1
    release.set()
    await harness.deps.tasks.aclose()
    assert SlowHandler.calls == 1


async def test_shutdown_cancels_tasks_that_outlive_the_timeout(harness):
    class StuckHandler:
        async def handle_text(self, message: InboundText) -> None:
            await asyncio.sleep(3600)

    harness.deps.handler = StuckHandler()
    params, body = harness.signed(text_xml(msg_id="stuck"))
    await harness.http.post(PATH, params=params, content=body)
    await harness.deps.tasks.aclose(timeout_seconds=0.05)
    assert len(harness.deps.tasks) == 0


def test_deps_from_settings_wires_the_crypto_with_the_skew():
    settings = WeComSettings(
        enabled=True,
        corp_id=CORP_ID,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        agent_id=1000002,
        secret="s",
        max_body_bytes=1000,
        timestamp_skew_seconds=60,
        open_kfid="wkKF",
    )
    deps = WeComDeps.from_settings(
        settings,
        handler=RecordingHandler(),
        outbound=RecordingOutbound(),
    )
    assert (deps.max_body_bytes, deps.open_kfid) == (1000, "wkKF")
    ciphertext, signature = deps.crypto.encrypt("x", "n", str(int(time.time())))
    assert deps.crypto.decrypt_message(signature, str(int(time.time())), "n", ciphertext) == "x"


async def test_before_the_channel_runs_every_callback_gets_503_so_wecom_delivers_it_again(caplog):
    harness = Harness()
    app = FastAPI()
    app.include_router(make_wecom_router(lambda _request: None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        params, body = harness.signed(text_xml(msg_id="early"))
        with caplog.at_level(logging.WARNING):
            posted = await http.post(PATH, params=params, content=body)
            verified = await http.get(PATH, params={**params, "echostr": "x"})
    assert (posted.status_code, verified.status_code) == (503, 503)
    assert "not running" in posted.text and "before the channel started" in caplog.text
    assert harness.handler.texts == [] and await harness.inbox.get(1) is None
    await harness.http.aclose()


class StallingInbox(BreakableInbox):
    """Holds the first insert until `go` is set, then fails it (a database that times out)."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled = asyncio.Event()
        self.go = asyncio.Event()
        self.inserts = 0

    async def add(self, *args: Any, **kwargs: Any) -> Any:
        self.inserts += 1
        if self.inserts == 1:
            self.stalled.set()
            await self.go.wait()
            raise ConnectionError("database timed out")
        return await super().add(*args, **kwargs)


async def test_a_redelivery_racing_a_failed_insert_is_stored_not_taken_for_a_duplicate():
    harness = Harness()
    harness.inbox = harness.deps.inbox = StallingInbox()
    harness.processor = CallbackProcessor(harness.deps)
    app = FastAPI()
    app.include_router(make_wecom_router(lambda _request: harness.processor))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        first_params, first_body = harness.signed(text_xml(msg_id="904"), nonce="first")
        first = asyncio.create_task(http.post(PATH, params=first_params, content=first_body))
        await harness.inbox.stalled.wait()  # the first delivery is being stored when WeCom redelivers
        again_params, again_body = harness.signed(text_xml(msg_id="904"), nonce="again")
        again = await http.post(PATH, params=again_params, content=again_body)
        harness.inbox.go.set()
        answers = sorted([(await first).status_code, again.status_code])
        await harness.deps.tasks.join()
    assert answers == [200, 503]
    assert [text.msg_id for text in harness.handler.texts] == ["904"]  # the one acknowledged was stored
    await harness.deps.tasks.aclose()
    await harness.http.aclose()
