"""The outbound client against the loopback fake WeCom API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from handoff_api.wecom.client import OutboundKind, SendStatus, WeComClient
from handoff_api.wecom.drainer import OutboxDrainer
from handoff_api.wecom.kf import kf_cursor_key
from handoff_api.wecom.outbox import MemoryOutbox, Outbox, OutboxStatus
from handoff_api.wecom.settings import WeComSettings
from handoff_api.wecom.text import utf8_len
from handoff_api.wecom.token_cache import MemoryTokenCache, TokenCache, token_key
from routing.memory import ManualClock
from tests.handoff_api.wecom.fake_wecom import FakeWeCom

AGENT_ID = 1000002
SEND = "/cgi-bin/message/send"
KF_SEND = "/cgi-bin/kf/send_msg"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def make_client(fake: FakeWeCom, *, token_cache: TokenCache, outbox: Outbox, clock: ManualClock, sleeps: Sleeps):
    return WeComClient(
        corp_id=fake.state.corp_id,
        secret=fake.state.secret,
        agent_id=AGENT_ID,
        token_cache=token_cache,
        outbox=outbox,
        base_url=fake.base_url,
        max_attempts=3,
        backoff_base_seconds=0.5,
        sleep=sleeps,
        clock=clock,
        timeout_seconds=2.0,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 1, 6, 9, 30, tzinfo=UTC))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(fake_wecom, token_cache, clock, sleeps) -> AsyncIterator[WeComClient]:
    wecom = make_client(fake_wecom, token_cache=token_cache, outbox=MemoryOutbox(), clock=clock, sleeps=sleeps)
    yield wecom
    await wecom.aclose()


async def test_token_is_fetched_once_for_several_sends(client, fake_wecom):
    for index in range(3):
        result = await client.send_text(["zhangsan"], f"第{index}条提醒")
        assert result.status is SendStatus.SENT
    assert fake_wecom.state.gettoken_calls == 1
    bodies = [call.body for call in fake_wecom.state.sent(SEND)]
    assert [body["text"]["content"] for body in bodies] == ["第0条提醒", "第1条提醒", "第2条提醒"]
    assert all(body["agentid"] == AGENT_ID and body["touser"] == "zhangsan" for body in bodies)


async def test_the_token_is_shared_through_the_cache(fake_wecom, token_cache, clock, sleeps):
    first = make_client(fake_wecom, token_cache=token_cache, outbox=MemoryOutbox(), clock=clock, sleeps=sleeps)
    second = make_client(fake_wecom, token_cache=token_cache, outbox=MemoryOutbox(), clock=clock, sleeps=sleeps)
    await first.send_text(["a"], "one")
    await second.send_text(["b"], "two")
    await first.aclose()
    await second.aclose()
    assert fake_wecom.state.gettoken_calls == 1
    assert await token_cache.get(token_key(fake_wecom.state.corp_id, AGENT_ID)) == "token-1"


async def test_expired_token_is_refreshed_once(client, fake_wecom):
    await client.send_text(["zhangsan"], "before")
    fake_wecom.expire_tokens()
    result = await client.send_text(["zhangsan"], "after")
    assert result.status is SendStatus.SENT
    assert fake_wecom.state.gettoken_calls == 2
    assert [call.access_token for call in fake_wecom.state.sent(SEND)] == ["token-1", "token-2"]


@pytest.mark.parametrize("errcode", [40014, 42001, 40001])
async def test_a_token_rejected_twice_is_not_refreshed_forever(client, fake_wecom, errcode):
    fake_wecom.fail_next(errcode, times=2)
    result = await client.send_text(["zhangsan"], "hello")
    assert result.status is SendStatus.QUEUED
    assert fake_wecom.state.gettoken_calls == 2
    assert fake_wecom.state.sent(SEND) == []


@pytest.mark.parametrize("errcode", [45009, 45033, -1])
async def test_rate_limits_are_retried_with_backoff(client, fake_wecom, sleeps, errcode):
    fake_wecom.fail_next(errcode, times=2)
    result = await client.send_text(["zhangsan"], "hello")
    assert result.status is SendStatus.SENT
    assert sleeps.delays == [0.5, 1.0]
    assert len(fake_wecom.state.sent(SEND)) == 1


async def test_permanent_errors_are_kept_as_failed_not_dropped(fake_wecom, token_cache, clock, sleeps):
    outbox = MemoryOutbox()
    client = make_client(fake_wecom, token_cache=token_cache, outbox=outbox, clock=clock, sleeps=sleeps)
    fake_wecom.fail_next(40003)  # invalid userid
    result = await client.send_text(["nobody"], "hello")
    await client.aclose()
    assert result.status is SendStatus.FAILED and sleeps.delays == []
    stored = await outbox.get(result.outbox_ids[0])
    assert stored is not None and stored.status is OutboxStatus.FAILED
    assert stored.last_error is not None and "40003" in stored.last_error
    assert stored.payload["text"] == {"content": "hello"}


async def test_outage_goes_to_the_outbox_and_the_drainer_delivers_exactly_once(fake_wecom, outbox, clock, sleeps):
    client = make_client(fake_wecom, token_cache=MemoryTokenCache(), outbox=outbox, clock=clock, sleeps=sleeps)
    await client.send_text(["zhangsan"], "warm the token")
    fake_wecom.stop()
    result = await client.send_text(["zhangsan"], "您的工单已被在线客服受理。")
    assert result.status is SendStatus.QUEUED and len(result.outbox_ids) == 1
    assert len(sleeps.delays) == 2  # three attempts in all

    drainer = OutboxDrainer(outbox, client, clock=clock, backoff_base_seconds=30)
    assert (await drainer.drain_once()).sent == 0  # not due yet
    clock.advance(31)
    still_down = await drainer.drain_once()
    assert (still_down.sent, still_down.retrying) == (0, 1)
    stored = await outbox.get(result.outbox_ids[0])
    assert stored is not None and stored.status is OutboxStatus.PENDING and stored.attempts == 2

    fake_wecom.start()  # back on the same port
    clock.advance(61)
    assert (await drainer.drain_once()).sent == 1
    assert (await drainer.drain_once()).sent == 0
    clock.advance(2 * 3600)
    assert (await drainer.drain_once()).sent == 0
    await client.aclose()
    contents = [call.body["text"]["content"] for call in fake_wecom.state.sent(SEND)]
    assert contents == ["warm the token", "您的工单已被在线客服受理。"]
    stored = await outbox.get(result.outbox_ids[0])
    assert (
        stored is not None and stored.status is OutboxStatus.SENT and stored.sent_at == clock.now() - timedelta(hours=2)
    )


async def test_chunks_after_a_failure_are_queued_in_order(fake_wecom, clock, sleeps):
    outbox = MemoryOutbox()
    client = make_client(fake_wecom, token_cache=MemoryTokenCache(), outbox=outbox, clock=clock, sleeps=sleeps)
    fake_wecom.fail_next(45009, times=3)
    result = await client.send_text(["zhangsan"], "第一句。" * 300)  # 3600 bytes: two chunks
    assert result.status is SendStatus.QUEUED and result.chunks == 2 and len(result.outbox_ids) == 2
    assert fake_wecom.state.sent(SEND) == []
    clock.advance(60)
    assert (await OutboxDrainer(outbox, client, clock=clock).drain_once()).sent == 2
    await client.aclose()
    assert "".join(call.body["text"]["content"] for call in fake_wecom.state.sent(SEND)) == "第一句。" * 300


async def test_long_text_is_split_within_2048_bytes(client, fake_wecom):
    text = "\n".join(f"{i}. 新股申购需要持有一定市值的非限售股份，申购额度按市值计算。" for i in range(80))
    result = await client.send_text(["zhangsan", "lisi"], text)
    bodies = [call.body for call in fake_wecom.state.sent(SEND)]
    assert result.chunks == len(bodies) > 1
    assert all(utf8_len(body["text"]["content"]) <= 2048 for body in bodies)
    assert "".join(body["text"]["content"] for body in bodies) == text
    assert bodies[0]["touser"] == "zhangsan|lisi"


async def test_textcard_is_sent_with_truncated_fields(client, fake_wecom):
    await client.send_textcard(
        ["zhangsan"], "新工单：VIP客户咨询两融" * 20, "详情" * 400, "https://console.example/t/1"
    )
    [call] = fake_wecom.state.sent(SEND)
    card = call.body["textcard"]
    assert call.body["msgtype"] == "textcard"
    assert utf8_len(card["title"]) <= 128 and utf8_len(card["description"]) <= 512
    assert card["url"] == "https://console.example/t/1" and card["btntxt"] == "详情"


async def test_kf_send_msg_payload(client, fake_wecom):
    result = await client.send_kf_text("wmEXTERNAL0000000000000", "wkKF", "您好，已为您转接在线客服。")
    assert result.status is SendStatus.SENT
    [call] = fake_wecom.state.sent(KF_SEND)
    assert call.body["touser"] == "wmEXTERNAL0000000000000" and call.body["open_kfid"] == "wkKF"
    assert call.body["msgtype"] == "text" and call.body["text"] == {"content": "您好，已为您转接在线客服。"}
    assert len(call.body["msgid"]) == 32


async def test_kf_sync_reads_one_page_from_the_cursor_it_is_given(client, fake_wecom, token_cache):
    for index in range(3):
        fake_wecom.add_kf_message(
            {
                "msgid": f"m{index}",
                "open_kfid": "wkKF",
                "external_userid": "wmEXTERNAL",
                "send_time": 1700000000 + index,
                "origin": 3,
                "msgtype": "text",
                "text": {"content": f"问题{index}"},
            }
        )
    first = await client.sync_kf_page("SYNC", "wkKF", None)
    assert [(m.msg_id, m.text, m.origin) for m in first.messages] == [
        ("m0", "问题0", 3),
        ("m1", "问题1", 3),
        ("m2", "问题2", 3),
    ]
    assert (first.next_cursor, first.has_more) == ("3", False)
    fake_wecom.add_kf_message(
        {
            "msgid": "m3",
            "open_kfid": "wkKF",
            "external_userid": "wmEXTERNAL",
            "send_time": 1700000009,
            "origin": 3,
            "msgtype": "image",
            "image": {},
        }
    )
    second = await client.sync_kf_page("SYNC2", "wkKF", first.next_cursor)
    assert [(m.msg_id, m.msg_type, m.text) for m in second.messages] == [("m3", "image", None)]
    assert [call.body.get("cursor") for call in fake_wecom.state.sent("/cgi-bin/kf/sync_msg")] == [None, "3"]
    # the client keeps no cursor: it is stored with the pulled messages, in the inbox
    assert await token_cache.get(kf_cursor_key(fake_wecom.state.corp_id, "wkKF")) is None


async def test_secrets_and_tokens_never_reach_the_logs(client, fake_wecom, caplog):
    # httpx logs its requests at INFO only with LOG_LEVEL=DEBUG (configure_logging); at DEBUG here too
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"):
        await client.send_text(["zhangsan"], "hello")
        fake_wecom.expire_tokens()
        await client.send_text(["zhangsan"], "again")
        fake_wecom.fail_next(45009)
        await client.send_kf_text("wmEXTERNAL", "wkKF", "hi")
    assert "gettoken" in caplog.text  # httpx did log the requests ...
    for secret in (fake_wecom.state.secret, "token-1", "token-2"):
        assert secret not in caplog.text  # ... with the secret and tokens masked
    assert secret not in repr(client)


async def test_deliver_rejects_unknown_kinds(client):
    with pytest.raises(ValueError):
        await client.deliver("fax", {})
    assert OutboundKind("kf_send_msg") is OutboundKind.KF_SEND_MSG


async def test_bad_arguments_are_refused(client):
    with pytest.raises(ValueError):
        await client.send_text([], "hello")
    with pytest.raises(ValueError):
        await client.send_text(["a|b"], "hello")
    with pytest.raises(ValueError):
        await client.send_text(["a"], "  ")
    with pytest.raises(ValueError):
        await client.send_kf_text("", "wkKF", "hello")


async def test_from_settings(fake_wecom):
    settings = WeComSettings(
        corp_id=fake_wecom.state.corp_id,
        secret=fake_wecom.state.secret,
        agent_id=AGENT_ID,
        api_base_url=fake_wecom.base_url,
    )
    client = WeComClient.from_settings(settings, token_cache=MemoryTokenCache(), outbox=MemoryOutbox())
    assert (await client.send_text(["zhangsan"], "hello")).status is SendStatus.SENT
    await client.aclose()
