"""Clients of one connection each: never shared by calls in flight, reused after, per origin, capped in order."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from handoff_api.http_clients import OneConnectionClients


async def test_calls_in_flight_at_once_never_share_a_client_and_later_ones_reuse_them() -> None:
    clients = OneConnectionClients()
    seen: list[int] = []
    both_in = asyncio.Barrier(2)

    async def call() -> None:
        async with clients.one() as http:
            seen.append(id(http))
            await both_in.wait()

    await asyncio.gather(call(), call())
    assert len(set(seen)) == 2 and clients.made == 2
    async with clients.one() as again:
        assert id(again) in seen and clients.made == 2
    made = list(clients._made)
    await clients.aclose()
    assert all(http.is_closed for http in made) and clients.made == 0


async def test_each_client_holds_one_connection_and_keeps_to_its_origin() -> None:
    clients = OneConnectionClients()
    async with clients.one("http://a") as first:
        pass
    async with clients.one("http://b") as other:
        assert other is not first  # an idle client of another origin is not taken
    async with clients.one("http://a") as again:
        assert again is first
    pool = first._transport._pool  # type: ignore[attr-defined]
    assert pool._max_connections == 1 and pool._max_keepalive_connections == 1
    await clients.aclose()


async def test_past_the_limit_callers_wait_in_order_and_no_more_clients_are_made() -> None:
    clients = OneConnectionClients(limit=2)
    order: list[int] = []
    release = asyncio.Event()

    async def call(number: int) -> None:
        async with clients.one():
            order.append(number)
            await release.wait()

    calls = [asyncio.create_task(call(number)) for number in range(5)]
    await asyncio.sleep(0.05)
    assert order == [0, 1]  # two in flight, three waiting
    release.set()
    await asyncio.gather(*calls)
    assert order == [0, 1, 2, 3, 4] and clients.made == 2
    await clients.aclose()


async def test_the_clients_carry_the_options_given() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=[])

    clients = OneConnectionClients(transport=httpx.MockTransport(answer), base_url="http://rasa")
    async with clients.one() as http:
        assert (await http.get("/status")).status_code == 200
    assert seen == ["http://rasa/status"]
    await clients.aclose()


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        OneConnectionClients(limit=0)


async def test_the_clients_share_one_tls_context_unless_told_otherwise() -> None:
    shared = OneConnectionClients()
    own = OneConnectionClients(verify=False)
    holders: list[httpx.AsyncClient] = []
    barrier = asyncio.Barrier(2)

    async def call() -> None:
        async with shared.one() as http:
            holders.append(http)
            await barrier.wait()

    await asyncio.gather(call(), call())
    contexts = {id(http._transport._pool._ssl_context) for http in holders}  # type: ignore[attr-defined]
    assert len(contexts) == 1
    async with own.one() as unverified:
        assert unverified._transport._pool._ssl_context.verify_mode.name == "CERT_NONE"  # type: ignore[attr-defined]
    await shared.aclose()
    await own.aclose()


async def test_idle_connections_are_kept_as_long_as_asked() -> None:
    clients = OneConnectionClients(keepalive_seconds=60.0)
    async with clients.one() as http:
        assert http._transport._pool._keepalive_expiry == 60.0  # type: ignore[attr-defined]
    await clients.aclose()
