"""WeCom end to end: the real app (create_app with WECOM_ENABLED, as main.py wires it), encrypted
callbacks, the scripted bot, the console REST API, and the local fake WeCom API recording what is sent.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from handoff_api.main import create_app
from handoff_api.settings import Settings
from handoff_api.wecom.client_text import RATING_PROMPT
from handoff_api.wecom.crypto import WeComCrypto
from handoff_api.wecom.inbound import guest_client_id
from handoff_api.wecom.notifications import reference_code
from handoff_api.wecom.replies import FEEDBACK_HINT
from handoff_api.wecom.settings import WeComChannelSettings
from handoff_api.wecom.wiring import build_wecom_channel
from routing.settings import RoutingSettings
from tests.handoff_api.conftest import ANSWER, ScriptedBot, bearer, create_key, login
from tests.handoff_api.wecom.fake_wecom import FakeWeCom
from tests.net import TEST_REDIS_URL, drop_redis_keys

TOKEN = "QDG6eK"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
AGENT_ID = 1000002
KF_ACCOUNT = "wkKF-pudong"
CONSOLE = "https://branch.example.com"
CLIENT = "wm_demo_c10001"  # C10001 陈晓明
KF_PATH = "/cgi-bin/kf/send_msg"
APP_PATH = "/cgi-bin/message/send"

T = TypeVar("T")


class World:
    """The running app, the fake WeCom API and helpers to post encrypted callbacks."""

    def __init__(self, http: TestClient, fake: FakeWeCom, bot: ScriptedBot, database: Path, app: FastAPI) -> None:
        self.app = app
        self.http = http
        self.fake = fake
        self.bot = bot
        self.database = database
        self.crypto = WeComCrypto(TOKEN, AES_KEY, fake.state.corp_id)

    def post_callback(self, inner_xml: str) -> None:
        timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
        ciphertext, signature = self.crypto.encrypt(inner_xml, nonce, timestamp)
        envelope = (
            f"<xml><ToUserName><![CDATA[{self.fake.state.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{ciphertext}]]></Encrypt><AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>"
        )
        response = self.http.post(
            "/wecom/callback",
            params={"msg_signature": signature, "timestamp": timestamp, "nonce": nonce},
            content=envelope,
        )
        assert response.status_code == 200 and response.text == ""

    def kf_event(self, token: str | None = None) -> None:
        """WeCom's 'there are 微信客服 messages' notification."""
        self.post_callback(
            f"<xml><ToUserName><![CDATA[{self.fake.state.corp_id}]]></ToUserName><CreateTime>{int(time.time())}"
            f"</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
            f"<Token><![CDATA[{token or uuid.uuid4().hex}]]></Token><OpenKfId><![CDATA[{KF_ACCOUNT}]]></OpenKfId></xml>"
        )

    def kf_message(self, user: str, text: str, msgid: str | None = None) -> dict[str, Any]:
        """A client writes to the 微信客服 account: the fake holds the message, WeCom notifies us."""
        message = {
            "msgid": msgid or uuid.uuid4().hex,
            "open_kfid": KF_ACCOUNT,
            "external_userid": user,
            "send_time": int(time.time()),
            "origin": 3,
            "msgtype": "text",
            "text": {"content": text},
        }
        self.fake.add_kf_message(message)
        self.kf_event()
        return message

    def app_text(self, user: str, text: str, msg_id: str | None = None) -> None:
        """A corp member (staff, or a member not in the directory) writes to the WeCom app."""
        self.post_callback(
            f"<xml><ToUserName><![CDATA[{self.fake.state.corp_id}]]></ToUserName><FromUserName><![CDATA[{user}]]>"
            f"</FromUserName><CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id or uuid.uuid4().int % 10**18}</MsgId>"
            f"<AgentID>{AGENT_ID}</AgentID></xml>"
        )

    def kf_texts(self, user: str) -> list[str]:
        return [
            str(call.body["text"]["content"]) for call in self.fake.state.sent(KF_PATH) if call.body["touser"] == user
        ]

    def app_texts(self, user: str) -> list[str]:
        return [
            str(call.body["text"]["content"])
            for call in self.fake.state.sent(APP_PATH)
            if call.body["touser"] == user and call.body["msgtype"] == "text"
        ]

    def cards(self, user: str) -> list[dict[str, str]]:
        return [
            call.body["textcard"]
            for call in self.fake.state.sent(APP_PATH)
            if call.body["touser"] == user and call.body["msgtype"] == "textcard"
        ]

    def outbox(self) -> list[tuple[str, str]]:
        """(status, text) of every stored outbound message."""
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute("SELECT status, payload FROM wecom_outbox ORDER BY id").fetchall()
        return [(str(status), str(json.loads(payload)["text"]["content"])) for status, payload in rows]

    def inbox_keys(self) -> list[str]:
        """The de-duplication key of every stored inbox item."""
        with sqlite3.connect(self.database) as connection:
            return [str(key) for (key,) in connection.execute("SELECT dedup_key FROM wecom_inbox").fetchall()]

    def inbox_errors(self) -> list[str]:
        """The last error of every inbox item that has one."""
        with sqlite3.connect(self.database) as connection:
            rows = connection.execute("SELECT last_error FROM wecom_inbox WHERE last_error IS NOT NULL").fetchall()
        return [str(error) for (error,) in rows]

    def reader(self) -> dict[str, str]:
        """An integration key that may read conversations (made on first use)."""
        if not hasattr(self, "_reader"):
            self._reader = bearer(create_key(self.http, "wecom-test-reader", ["conversations:read"]))
        return self._reader

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"/api/v1/conversations/{conversation_id}", headers=self.reader()).json()
        return body

    def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        path = f"/api/v1/conversations/{conversation_id}/messages"
        messages: list[dict[str, Any]] = self.http.get(path, headers=self.reader()).json()["messages"]
        return messages


def wait_for(probe: Callable[[], T], seconds: float = 10.0) -> T:
    """Poll until probe() is truthy (the app works in its own thread); fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {seconds}s (last value {value!r})")
        time.sleep(0.05)


@pytest.fixture
def fake_wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom(corp_id=f"ww-e2e-{uuid.uuid4().hex[:10]}") as fake:
        yield fake


def app_settings(database: Path, fake_wecom: FakeWeCom, redis_url: str | None = None) -> Settings:
    """The API's settings with the WeCom channel enabled against the fake WeCom API."""
    wecom = WeComChannelSettings(
        enabled=True,
        corp_id=fake_wecom.state.corp_id,
        token=TOKEN,
        encoding_aes_key=AES_KEY,
        agent_id=AGENT_ID,
        secret=fake_wecom.state.secret,
        api_base_url=fake_wecom.base_url,
        open_kfid=KF_ACCOUNT,
        guest_branch="上海浦东营业部",
        send_attempts=2,
        send_backoff_seconds=0.05,
        outbox_retry_seconds=0.2,
        drain_interval_seconds=0.1,
        drain_backoff_seconds=0.2,
        catch_up_hours=0,
        console_base_url=CONSOLE,
        inbox_expiry_interval_seconds=0.2,
    )
    return Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        kb_index_dir=database.parent / "no-index",
        redis_url=redis_url,
        tick_seconds=0.2,
        max_message_chars=200,
        wecom=wecom,
    )


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def world(request: pytest.FixtureRequest, tmp_path: Path, fake_wecom: FakeWeCom) -> Iterator[World]:
    """The app on the embedded backends, and again with Redis behind routing's ports and the token cache."""
    database = tmp_path / "engine.db"
    prefix = f"tre-test-{uuid.uuid4().hex[:8]}:"
    settings = app_settings(database, fake_wecom, TEST_REDIS_URL if request.param == "redis" else None)
    bot = ScriptedBot()
    app = create_app(settings, bot=bot, routing_settings=RoutingSettings(always_open=True, redis_key_prefix=prefix))
    try:
        with TestClient(app) as http:
            yield World(http, fake_wecom, bot, database, app)
    finally:
        if request.param == "redis":
            drop_redis_keys(TEST_REDIS_URL, prefix)
            drop_redis_keys(TEST_REDIS_URL, f"tre:wecom:*:{fake_wecom.state.corp_id}:")


def test_the_callback_url_verifies_through_the_mounted_router(world: World) -> None:
    timestamp = str(int(time.time()))
    echostr, signature = world.crypto.encrypt("verify-me-42", "n1", timestamp)
    response = world.http.get(
        "/wecom/callback",
        params={"msg_signature": signature, "timestamp": timestamp, "nonce": "n1", "echostr": echostr},
    )
    assert response.status_code == 200 and response.text == "verify-me-42"


def test_a_wecom_clients_question_is_answered_by_the_bot_through_wecom(world: World) -> None:
    world.kf_message(CLIENT, "科创板门槛")
    [answer] = wait_for(lambda: world.kf_texts(CLIENT))
    assert answer == f"{ANSWER['text']}\n\n{FEEDBACK_HINT}"
    [call] = world.fake.state.sent(KF_PATH)
    assert call.body["open_kfid"] == KF_ACCOUNT
    [(conversation_id, text)] = world.bot.calls
    assert text == "科创板门槛"
    conversation = world.conversation(conversation_id)
    assert (conversation["client_id"], conversation["channel"], conversation["state"]) == ("C10001", "wecom", "bot")

    world.kf_message(CLIENT, "解决了")
    wait_for(lambda: len(world.kf_texts(CLIENT)) == 2)
    assert world.bot.calls[-1] == (conversation_id, "/feedback_resolved")
    assert world.kf_texts(CLIENT)[-1] == f"很高兴能帮到您。\n\n{RATING_PROMPT}"


def test_a_wecom_client_escalated_to_an_advisor_gets_the_reply_through_wecom(world: World) -> None:
    advisor = login(world.http, "adv01")
    assert world.http.post("/api/v1/staff/presence", json={"presence": "online"}, headers=advisor).status_code == 204
    world.kf_message(CLIENT, "能推荐一只股票吗")
    conversation_id = wait_for(lambda: world.bot.calls)[0][0]
    wait_for(lambda: world.conversation(conversation_id)["state"] in {"queued", "with_agent"})
    if world.conversation(conversation_id)["state"] == "queued":  # else auto-assignment was quicker
        claim = world.http.post(f"/api/v1/staff/conversations/{conversation_id}/claim", headers=advisor)
        assert claim.status_code == 200 or claim.json()["error"] == "StaleClaim", claim.text
    conversation = wait_for(lambda: world.conversation(conversation_id)["state"] == "with_agent")
    assert conversation and world.conversation(conversation_id)["assignee_id"] == "adv01"
    joined = wait_for(lambda: [t for t in world.kf_texts(CLIENT) if "张伟" in t and "为您服务" in t])
    assert joined == ["在线投顾张伟（执业编号：S0570120080012）为您服务。"]
    reply = world.http.post(
        f"/api/v1/staff/conversations/{conversation_id}/reply",
        json={"text": "您好，我是投资顾问张伟。"},
        headers=advisor,
    )
    assert reply.status_code == 200, reply.text
    wait_for(lambda: "【张伟】您好，我是投资顾问张伟。" in world.kf_texts(CLIENT))
    texts = world.kf_texts(CLIENT)
    assert texts[-1] == "【张伟】您好，我是投资顾问张伟。" and texts.count(texts[-1]) == 1
    assert any("转接" in text for text in texts[: texts.index(joined[0])])  # the queue notice came first


def test_the_responder_is_notified_and_answers_from_wecom_while_others_are_refused(world: World) -> None:
    world.kf_message(CLIENT, "能推荐一只股票吗")  # nobody online: straight to the assigned responder (tier 3)
    [card] = wait_for(lambda: world.cards("zhaolei"))
    conversation_id = world.bot.calls[0][0]
    reference = reference_code(conversation_id)
    assert card["url"] == f"{CONSOLE}/console#/conversations/{conversation_id}"
    assert f"#{reference}" in card["title"] and f"#{reference}" in card["description"]
    assert "陈*明" in card["description"] and "能推荐一只股票吗" in card["description"]
    assert world.conversation(conversation_id)["state"] == "awaiting_responder"

    world.app_text("zhangwei", f"#{reference} 我来替他回答")  # adv01: not the holder
    [refusal] = wait_for(lambda: world.app_texts("zhangwei"))
    assert "不是" in refusal and reference in refusal

    world.app_text("zhaolei", f"#{reference} 您好，我是您的专属服务人员赵磊。")
    wait_for(lambda: "【赵磊】您好，我是您的专属服务人员赵磊。" in world.kf_texts(CLIENT))
    [confirmation] = wait_for(lambda: world.app_texts("zhaolei"))
    assert "已将您的回复发送给客户 陈*明" in confirmation
    assert world.conversation(conversation_id)["state"] == "with_responder"
    assert not any("我来替他回答" in text for text in world.kf_texts(CLIENT))
    transcript = world.transcript(conversation_id)
    served = [m["served_by"]["staff_id"] for m in transcript if m["sender"] == "responder"]
    assert served == ["rsp01"]


def test_duplicate_callbacks_produce_one_reply(world: World) -> None:
    message = world.kf_message(CLIENT, "科创板门槛")
    wait_for(lambda: world.kf_texts(CLIENT))
    world.fake.add_kf_message(message)  # WeCom re-delivers the same msgid in a later sync
    world.kf_event()
    world.kf_event("same-token")
    world.kf_event("same-token")
    member = "wangxiaoer"  # a corp member unknown to the directory: a guest on the app
    for _ in range(3):
        world.app_text(member, "科创板门槛", msg_id="555001")
    wait_for(lambda: world.app_texts(member))
    time.sleep(0.5)  # give any duplicate the chance to show up
    assert len(world.kf_texts(CLIENT)) == 1 and len(world.app_texts(member)) == 1
    assert [text for _, text in world.bot.calls] == ["科创板门槛", "科创板门槛"]


def test_a_message_marked_seen_by_a_worker_that_died_before_storing_it_is_still_taken(world: World) -> None:
    idempotency = world.app.state.container.routing.idempotency
    assert world.http.portal is not None
    world.http.portal.call(idempotency.claim, "wecom:msg:556001", 86400)  # the dead worker's mark
    member = "wangxiaoer"
    world.app_text(member, "科创板门槛", msg_id="556001")  # WeCom's redelivery
    [answer] = wait_for(lambda: world.app_texts(member))
    assert answer.startswith(str(ANSWER["text"]))


def test_an_outage_is_retried_and_delivered_after_recovery(world: World) -> None:
    world.kf_message(CLIENT, "能推荐一只股票吗")
    wait_for(lambda: world.cards("zhaolei"))
    conversation_id = world.bot.calls[0][0]
    before = len(world.kf_texts(CLIENT))
    world.fake.stop()
    responder = login(world.http, "rsp01")
    reply = world.http.post(
        f"/api/v1/staff/conversations/{conversation_id}/reply",
        json={"text": "您好，我是赵磊，稍后给您详细答复。"},
        headers=responder,
    )
    assert reply.status_code == 200, reply.text
    pending = wait_for(lambda: [p for status, p in world.outbox() if status == "pending" and "赵磊，稍后" in p])
    assert len(pending) == 1
    world.fake.start()
    texts = wait_for(lambda: [t for t in world.kf_texts(CLIENT) if "稍后给您详细答复" in t] and world.kf_texts(CLIENT))
    assert texts[before:][-1] == "【赵磊】您好，我是赵磊，稍后给您详细答复。"
    assert any("赵磊" in text and "为您服务" in text for text in texts[before:-1])  # the joined notice, in order
    wait_for(lambda: all(status == "sent" for status, _ in world.outbox()))
    time.sleep(0.3)
    assert world.kf_texts(CLIENT).count("【赵磊】您好，我是赵磊，稍后给您详细答复。") == 1


def test_pulled_messages_that_could_not_be_stored_are_pulled_again(world: World) -> None:
    with sqlite3.connect(world.database) as connection:  # the database refuses the pulled messages
        connection.execute(
            "CREATE TRIGGER refuse_pulled BEFORE INSERT ON wecom_inbox WHEN NEW.kind = 'kf' "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    world.kf_message(CLIENT, "科创板门槛")
    wait_for(lambda: "disk full" in " ".join(world.inbox_errors()))  # the notification's handling failed
    with sqlite3.connect(world.database) as connection:
        connection.execute("DROP TRIGGER refuse_pulled")
    world.kf_event()  # WeCom's next notification: the sync cursor must not have moved past the message
    [answer] = wait_for(lambda: world.kf_texts(CLIENT))
    assert answer == f"{ANSWER['text']}\n\n{FEEDBACK_HINT}"
    assert [text for _, text in world.bot.calls] == ["科创板门槛"]


def test_the_running_app_deletes_inbox_items_past_their_retention(world: World) -> None:
    now = datetime.now(UTC)
    rows = [  # (key, status, arrived days ago)
        ("old-handled", "sent", 31),
        ("recent-handled", "sent", 29),
        ("old-failed", "failed", 31),
        ("older-failed", "failed", 91),
        ("old-pending", "pending", 120),
    ]
    with sqlite3.connect(world.database) as connection:
        for key, status, days in rows:
            arrived = (now - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S.%f")
            connection.execute(
                "INSERT INTO wecom_inbox (kind, payload, status, attempts, next_attempt_at, created_at, dedup_key) "
                "VALUES ('callback', '{}', ?, 1, ?, ?, ?)",
                (status, "2100-01-01 00:00:00.000000", arrived, key),
            )
    wait_for(lambda: set(world.inbox_keys()) == {"recent-handled", "old-failed", "old-pending"})


def test_an_unknown_wecom_user_is_a_guest_answered_by_the_bot(world: World) -> None:
    stranger = "wmStrangerE2EXXXXXXXXXXXXXX"
    world.kf_message(stranger, "科创板门槛")
    [answer] = wait_for(lambda: world.kf_texts(stranger))
    assert answer.startswith(str(ANSWER["text"]))
    conversation = world.conversation(world.bot.calls[0][0])
    assert conversation["client_id"] == guest_client_id(stranger) and conversation["channel"] == "wecom"


def test_a_restarted_app_serves_callbacks_with_the_new_channel(world: World) -> None:
    world.kf_message(CLIENT, "科创板门槛")
    wait_for(lambda: world.kf_texts(CLIENT))
    routes_before = len(world.app.router.routes)
    world.http.__exit__(None, None, None)  # shut the app down ...
    with TestClient(world.app) as again:  # ... and start the same app object again
        world.http = again
        assert len(world.app.router.routes) == routes_before  # the old callback router was replaced, not doubled
        world.kf_message(CLIENT, "你好")
        wait_for(lambda: len(world.kf_texts(CLIENT)) == 2)
        assert world.kf_texts(CLIENT)[-1] == "您好，我是智能投顾机器人。"
        assert {conversation_id for conversation_id, _ in world.bot.calls} == {world.bot.calls[0][0]}


def test_callbacks_get_503_until_the_app_has_started_and_again_once_it_has_stopped(
    tmp_path: Path, fake_wecom: FakeWeCom
) -> None:
    app = create_app(app_settings(tmp_path / "engine.db", fake_wecom), bot=ScriptedBot())
    idle = TestClient(app)  # outside `with`: the lifespan (which starts the channel) does not run
    world = World(idle, fake_wecom, ScriptedBot(), tmp_path / "engine.db", app)
    timestamp, nonce = str(int(time.time())), "n1"
    echostr, signature = world.crypto.encrypt("verify-me", nonce, timestamp)
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
    early = idle.get("/wecom/callback", params=query)
    assert early.status_code == 503 and "not running" in early.text
    with TestClient(app) as running:
        assert running.get("/wecom/callback", params=query).text == "verify-me"
    assert idle.get("/wecom/callback", params=query).status_code == 503


def test_without_wecom_enabled_there_is_no_callback_route(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}", kb_index_dir=tmp_path / "none")
    with TestClient(create_app(settings, bot=ScriptedBot())) as http:
        assert http.post("/wecom/callback").status_code == 404


def test_a_disabled_channel_is_not_built() -> None:
    with pytest.raises(ValueError, match="disabled"):
        build_wecom_channel(
            WeComChannelSettings(enabled=False),
            routing=None,  # type: ignore[arg-type]
            flow=None,  # type: ignore[arg-type]
            record=None,  # type: ignore[arg-type]
            hub=None,  # type: ignore[arg-type]
            idempotency=None,  # type: ignore[arg-type]
            engine=None,  # type: ignore[arg-type]
            redis=None,
            console_base_url=CONSOLE,
        )
