"""The Rasa REST client: sticky replicas, the auth token on health checks, clear failures."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from handoff_api.bot_client import BotUnavailable, RasaRestClient, replica_for

REPLICAS = ["http://127.0.0.1:5005", "http://127.0.0.1:5006"]


def test_each_conversation_sticks_to_one_replica_and_they_share_the_load() -> None:
    ids = [f"conversation-{number}" for number in range(400)]
    assert [replica_for(i, 2) for i in ids] == [replica_for(i, 2) for i in ids]
    counts = Counter(replica_for(i, 2) for i in ids)
    assert min(counts.values()) > 150
    assert {replica_for(i, 1) for i in ids} == {0}


async def test_messages_go_to_the_conversations_replica_and_pings_carry_the_token() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path == "/status":
            return httpx.Response(200, json={"model_file": "tier1.tar.gz"})
        return httpx.Response(200, json=[{"recipient_id": "x", "text": "您好"}])

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    client = RasaRestClient(REPLICAS, 5.0, http=http, auth_token="tok")
    await client.send("conversation-7", "你好")
    assert str(seen[-1]).startswith(client.base_url_for("conversation-7"))
    assert await client.ping()
    assert {url.params.get("token") for url in seen if url.path == "/status"} == {"tok"}
    assert {f"{url.scheme}://{url.host}:{url.port}" for url in seen if url.path == "/status"} == set(REPLICAS)
    await http.aclose()


async def test_an_unreachable_replica_is_bot_unavailable_and_fails_the_ping() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(refuse))
    client = RasaRestClient(REPLICAS, 5.0, http=http)
    with pytest.raises(BotUnavailable):
        await client.send("c1", "你好")
    assert not await client.ping()
    await http.aclose()


async def test_an_unreachable_replica_hands_the_message_to_the_next_but_a_slow_one_does_not() -> None:
    down: str | None = None
    tried: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        base = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        tried.append(base)
        if base == down:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=[{"recipient_id": "x", "text": "您好"}])

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    client_for = RasaRestClient(REPLICAS, 5.0, http=http)
    sticky = client_for.base_url_for("conversation-7")
    assert client_for.replicas_for("conversation-7") == [sticky, *[url for url in REPLICAS if url != sticky]]
    down = sticky
    replies = await client_for.send("conversation-7", "你好")
    assert [reply["text"] for reply in replies] == ["您好"]
    assert tried == client_for.replicas_for("conversation-7")  # the sticky one refused, the other answered

    def read_timeout(request: httpx.Request) -> httpx.Response:
        tried.append(str(request.url))
        raise httpx.ReadTimeout("no answer in time", request=request)

    tried.clear()
    slow = RasaRestClient(REPLICAS, 5.0, http=httpx.AsyncClient(transport=httpx.MockTransport(read_timeout)))
    with pytest.raises(BotUnavailable, match="ReadTimeout"):
        await slow.send("conversation-7", "你好")
    assert len(tried) == 1  # it may have taken the message: never sent twice
    await http.aclose()


def test_at_least_one_url_is_needed() -> None:
    with pytest.raises(ValueError, match="at least one Rasa URL"):
        RasaRestClient([], 1.0)


async def test_concurrent_turns_keep_their_connections_to_rasa() -> None:
    peers: list[int] = []
    release = asyncio.Event()
    all_in_flight = asyncio.Event()
    waiting = 0
    body = b'[{"recipient_id": "x", "text": "ok"}]'
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal waiting
        peers.append(writer.get_extra_info("peername")[1])
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                sizes = [int(x.split(b":")[1]) for x in head.split(b"\r\n") if x.lower().startswith(b"content-length")]
                await reader.readexactly(sizes[0])
                waiting += 1
                if waiting == 40:
                    all_in_flight.set()
                await release.wait()
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = RasaRestClient(f"http://127.0.0.1:{port}", 5.0)

    async def wave() -> None:
        nonlocal waiting
        waiting = 0
        release.clear()
        all_in_flight.clear()
        turns = [asyncio.create_task(client.send(f"c{number}", "你好")) for number in range(40)]
        await all_in_flight.wait()  # all 40 at once, each on a connection of its own
        release.set()
        assert all(payloads == [{"type": "text", "text": "ok"}] for payloads in await asyncio.gather(*turns))

    try:
        await asyncio.wait_for(wave(), 10)
        assert len(peers) == 40
        await asyncio.wait_for(wave(), 10)
        assert len(peers) == 40  # the second wave reused every connection (httpx's default kept 20)
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_idle_connections_to_rasa_are_kept_as_long_as_set() -> None:
    client = RasaRestClient("http://127.0.0.1:5005", 5.0, keepalive_seconds=60.0)
    assert client._clients is not None and client._clients._limits.keepalive_expiry == 60.0
    await client.aclose()
