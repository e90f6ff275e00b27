"""PresenceStore on Redis: presence with clock-based expiry, per-skill online sets, atomic load counters."""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from routing.models import Presence, QueueName
from routing.ports import Clock
from routing.redis_keys import RedisKeys

_QUEUE_NAMES = [queue.value for queue in QueueName]

# KEYS: presence hash, online set of each queue ; ARGV[1..n] queue names
_SET = """
local n = #KEYS - 1
local staff, presence, expires, skills = ARGV[n + 1], ARGV[n + 2], ARGV[n + 3], ARGV[n + 4]
redis.call('HSET', KEYS[1], staff, cjson.encode({p = presence, s = skills, x = expires}))
for i = 1, n do
  if presence == 'online' and string.find(',' .. skills .. ',', ',' .. ARGV[i] .. ',', 1, true) then
    redis.call('ZADD', KEYS[1 + i], expires, staff)
  else
    redis.call('ZREM', KEYS[1 + i], staff)
  end
end
return 1
"""

_HEARTBEAT = """
local n = #KEYS - 1
local staff, now, expires = ARGV[n + 1], tonumber(ARGV[n + 2]), ARGV[n + 3]
local raw = redis.call('HGET', KEYS[1], staff)
if not raw then return 0 end
local state = cjson.decode(raw)
if state.p == 'offline' or tonumber(state.x) <= now then return 0 end
state.x = expires
redis.call('HSET', KEYS[1], staff, cjson.encode(state))
if state.p == 'online' then
  for i = 1, n do
    if string.find(',' .. state.s .. ',', ',' .. ARGV[i] .. ',', 1, true) then
      redis.call('ZADD', KEYS[1 + i], expires, staff)
    end
  end
end
return 1
"""

_RESERVE = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current >= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return 1
"""

_RELEASE = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current <= 0 then
  redis.call('HSET', KEYS[1], ARGV[1], 0)
  return 0
end
return redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
"""

_CORRECT = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisPresenceStore:
    """routing.ports.PresenceStore on Redis."""

    def __init__(self, client: Redis, clock: Clock, keys: RedisKeys | None = None) -> None:
        self._redis = client
        self._clock = clock
        self._keys = keys or RedisKeys()
        self._presence_keys = [self._keys.presence, *(self._keys.presence_online(q) for q in QueueName)]
        self._set = client.register_script(_SET)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)
        self._correct = client.register_script(_CORRECT)

    def _expiry_ms(self, ttl_seconds: float) -> int:
        return _ms(self._clock.now() + timedelta(seconds=ttl_seconds))

    async def set_presence(
        self, staff_id: str, skills: Collection[QueueName], presence: Presence, ttl_seconds: float
    ) -> None:
        """Record presence with an expiry."""
        skill_list = ",".join(sorted(skill.value for skill in skills))
        args: list[Any] = [*_QUEUE_NAMES, staff_id, presence.value, self._expiry_ms(ttl_seconds), skill_list]
        await self._set(keys=self._presence_keys, args=args)

    async def heartbeat(self, staff_id: str, ttl_seconds: float) -> bool:
        """Extend an unexpired online/away presence."""
        now = _ms(self._clock.now())
        args: list[Any] = [*_QUEUE_NAMES, staff_id, now, self._expiry_ms(ttl_seconds)]
        return bool(await self._heartbeat(keys=self._presence_keys, args=args))

    async def presence(self, staff_id: str) -> Presence:
        """Current presence."""
        raw: Any = await self._redis.hget(self._keys.presence, staff_id)
        if raw is None:
            return Presence.OFFLINE
        state = json.loads(raw)
        if int(state["x"]) <= _ms(self._clock.now()):
            return Presence.OFFLINE
        return Presence(state["p"])

    async def online_staff(self, skill: QueueName) -> list[str]:
        """Unexpired ONLINE staff with the skill."""
        now = _ms(self._clock.now())
        key = self._keys.presence_online(skill)
        members: list[Any] = await self._redis.zrangebyscore(key, f"({now}", "+inf")
        return sorted(_text(member) for member in members)

    async def reserve(self, staff_id: str, capacity: int) -> bool:
        """Atomically take a slot if one is free."""
        args: list[Any] = [staff_id, capacity]
        return bool(await self._reserve(keys=[self._keys.staff_load], args=args))

    async def release(self, staff_id: str) -> None:
        """Free a slot (never below zero)."""
        await self._release(keys=[self._keys.staff_load], args=[staff_id])

    async def load(self, staff_id: str) -> int:
        """Active conversations."""
        raw: Any = await self._redis.hget(self._keys.staff_load, staff_id)
        return int(raw or 0)

    async def loads(self, staff_ids: Collection[str]) -> dict[str, int]:
        """Active conversations of several staff."""
        ids = list(staff_ids)
        if not ids:
            return {}
        raws: list[Any] = await self._redis.hmget(self._keys.staff_load, ids)
        return {staff_id: int(raw or 0) for staff_id, raw in zip(ids, raws, strict=True)}

    async def set_load(self, staff_id: str, count: int) -> None:
        """Overwrite a counter."""
        await self._redis.hset(self._keys.staff_load, staff_id, max(count, 0))

    async def correct_load(self, staff_id: str, expected: int, count: int) -> bool:
        """Set the counter to `count` only if it still reads `expected`."""
        args: list[Any] = [staff_id, expected, max(count, 0)]
        return bool(await self._correct(keys=[self._keys.staff_load], args=args))

    async def next_round_robin(self, key: str) -> int:
        """A shared, growing counter."""
        value: Any = await self._redis.incr(self._keys.round_robin(key))
        return int(value) - 1
