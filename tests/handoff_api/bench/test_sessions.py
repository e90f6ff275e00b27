"""The harness gives every session under way an HTTP client of its own and reuses idle ones."""

from __future__ import annotations

import asyncio

from handoff_api.bench.sessions import SessionClients


async def test_sessions_under_way_at_once_never_share_a_client_and_later_ones_reuse_them() -> None:
    clients = SessionClients()
    seen: list[int] = []
    both_in = asyncio.Barrier(2)

    async def session() -> None:
        async with clients.one() as http:
            seen.append(id(http))
            await both_in.wait()

    await asyncio.gather(session(), session())
    assert len(set(seen)) == 2 and clients.made == 2
    async with clients.one() as again:
        assert id(again) in seen and clients.made == 2
    made = [http for http in clients._made]
    await clients.aclose()
    assert all(http.is_closed for http in made) and clients.made == 0
