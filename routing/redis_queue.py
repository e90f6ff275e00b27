"""QueueStore on Redis: one sorted set per queue, leases in a sorted set by expiry, Lua for atomicity.

Every state change runs as one Lua script, so a ticket is always in exactly one place (a queue or
a lease) whatever the number of workers. Times come from the injected Clock (passed to the scripts).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from routing.models import QueueName
from routing.ports import Clock, Lease, QueueEntry
from routing.redis_keys import RedisKeys

LEASED = "lease"
"""What `location` answers for a ticket under a claim lease."""

_EPOCH_2020 = datetime(2020, 1, 1, tzinfo=UTC)
_PRIORITY_STEP = 10**12
_QUEUE_NAMES = [queue.value for queue in QueueName]

# Members of a queue's sorted set are "<sub-millisecond µs, 3 digits>|<ticket id>": the score carries
# the millisecond, the member prefix keeps FIFO order inside one millisecond.
# KEYS: entries, leases, owners, queue_1..queue_n ; ARGV[1..n]: queue names (then script arguments)
_PRELUDE = """
local n = #KEYS - 3
local function queue_key(name)
  for i = 1, n do if ARGV[i] == name then return KEYS[3 + i] end end
  return redis.error_reply('unknown queue ' .. name)
end
local function stored(ticket)
  local raw = redis.call('HGET', KEYS[1], ticket)
  if raw then return raw, cjson.decode(raw) end
  return nil, nil
end
local function drop(ticket)
  local _, entry = stored(ticket)
  if entry then
    for i = 1, n do redis.call('ZREM', KEYS[3 + i], entry.m) end
  end
  redis.call('ZREM', KEYS[2], ticket)
  redis.call('HDEL', KEYS[3], ticket)
end
local function back_to_queue(ticket)
  local raw, entry = stored(ticket)
  if entry then redis.call('ZADD', queue_key(entry.q), entry.s, entry.m) end
  redis.call('ZREM', KEYS[2], ticket)
  redis.call('HDEL', KEYS[3], ticket)
  return raw
end
local function lease(ticket, member, queue, claimer, expires)
  redis.call('ZREM', queue, member)
  redis.call('ZADD', KEYS[2], expires, ticket)
  redis.call('HSET', KEYS[3], ticket, claimer)
  return {ticket, redis.call('HGET', KEYS[1], ticket), expires}
end
"""

_ENQUEUE = (
    _PRELUDE
    + """
local ticket, raw = ARGV[n + 1], ARGV[n + 2]
local entry = cjson.decode(raw)
drop(ticket)
redis.call('HSET', KEYS[1], ticket, raw)
redis.call('ZADD', queue_key(entry.q), entry.s, entry.m)
return 1
"""
)

_CLAIM_HEAD = (
    _PRELUDE
    + """
local queue, claimer, expires = queue_key(ARGV[n + 1]), ARGV[n + 2], ARGV[n + 3]
local head = redis.call('ZRANGE', queue, 0, 0)
if #head == 0 then return false end
return lease(string.sub(head[1], 5), head[1], queue, claimer, expires)
"""
)

_CLAIM_TICKET = (
    _PRELUDE
    + """
local queue, ticket, claimer, expires = queue_key(ARGV[n + 1]), ARGV[n + 2], ARGV[n + 3], ARGV[n + 4]
local _, entry = stored(ticket)
if not entry or not redis.call('ZSCORE', queue, entry.m) then return false end
return lease(ticket, entry.m, queue, claimer, expires)
"""
)

_ACK = (
    _PRELUDE
    + """
local ticket, claimer = ARGV[n + 1], ARGV[n + 2]
if redis.call('HGET', KEYS[3], ticket) ~= claimer then return 0 end
drop(ticket)
redis.call('HDEL', KEYS[1], ticket)
return 1
"""
)

_REQUEUE = (
    _PRELUDE
    + """
local ticket, claimer = ARGV[n + 1], ARGV[n + 2]
if redis.call('HGET', KEYS[3], ticket) ~= claimer then return 0 end
back_to_queue(ticket)
return 1
"""
)

_REMOVE = (
    _PRELUDE
    + """
local ticket = ARGV[n + 1]
drop(ticket)
return redis.call('HDEL', KEYS[1], ticket)
"""
)

_RECLAIM = (
    _PRELUDE
    + """
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[n + 1])
local entries = {}
for _, ticket in ipairs(expired) do
  local raw = back_to_queue(ticket)
  if raw then table.insert(entries, raw) end
end
return entries
"""
)

# Returns {where, rank}: where = queue name, 'lease' or false; rank is 0-based within the queue.
_LOCATE = (
    _PRELUDE
    + """
local ticket = ARGV[n + 1]
if redis.call('ZSCORE', KEYS[2], ticket) then return {'lease', -1} end
local _, entry = stored(ticket)
if not entry then return {false, -1} end
local rank = redis.call('ZRANK', queue_key(entry.q), entry.m)
if not rank then return {false, -1} end
return {entry.q, rank}
"""
)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def queue_score(priority: int, enqueued_at: datetime) -> int:
    """Redis score of a waiting ticket: lower is served first (higher priority, then earlier).

    An integer below 2**53, so the double Redis stores is exact.
    """
    since_2020_ms = (enqueued_at - _EPOCH_2020) // timedelta(milliseconds=1)
    return -priority * _PRIORITY_STEP + since_2020_ms


def queue_member(entry: QueueEntry) -> str:
    """Sorted-set member: the sub-millisecond microseconds (FIFO within a millisecond), then the id."""
    return f"{entry.enqueued_at.microsecond % 1000:03d}|{entry.ticket_id}"


def encode_entry(entry: QueueEntry) -> str:
    """JSON of a queue entry as the scripts store it (q = queue, s = score)."""
    return json.dumps(
        {
            "t": entry.ticket_id,
            "c": entry.conversation_id,
            "q": entry.queue.value,
            "p": entry.priority,
            "e": entry.enqueued_at.isoformat(),
            "s": str(queue_score(entry.priority, entry.enqueued_at)),
            "m": queue_member(entry),
        }
    )


def decode_entry(raw: str | bytes) -> QueueEntry:
    """The queue entry stored as JSON."""
    data = json.loads(raw)
    return QueueEntry(data["t"], data["c"], QueueName(data["q"]), int(data["p"]), datetime.fromisoformat(data["e"]))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisQueueStore:
    """routing.ports.QueueStore on Redis sorted sets with leased claims."""

    def __init__(self, client: Redis, clock: Clock, keys: RedisKeys | None = None) -> None:
        self._redis = client
        self._clock = clock
        self._keys = keys or RedisKeys()
        self._script_keys = [
            self._keys.queue_entries,
            self._keys.queue_leases,
            self._keys.queue_lease_owners,
            *self._keys.queues,
        ]
        self._scripts = {
            name: client.register_script(source)
            for name, source in {
                "enqueue": _ENQUEUE,
                "claim_head": _CLAIM_HEAD,
                "claim_ticket": _CLAIM_TICKET,
                "ack": _ACK,
                "requeue": _REQUEUE,
                "remove": _REMOVE,
                "reclaim": _RECLAIM,
                "locate": _LOCATE,
            }.items()
        }

    async def _run(self, script: str, *args: object) -> Any:
        arguments: list[Any] = [*_QUEUE_NAMES, *args]
        return await self._scripts[script](keys=self._script_keys, args=arguments)

    def _lease_from(self, reply: Any, claimer: str) -> Lease | None:
        if not reply:
            return None
        _ticket, raw, expires = reply
        expires_at = datetime.fromtimestamp(int(expires) / 1000, tz=UTC)
        return Lease(decode_entry(raw), claimer, expires_at)

    def _expiry_ms(self, lease_seconds: float) -> int:
        return _ms(self._clock.now() + timedelta(seconds=lease_seconds))

    async def enqueue(self, entry: QueueEntry) -> None:
        """Put (or move) the ticket in its queue."""
        await self._run("enqueue", entry.ticket_id, encode_entry(entry))

    async def position(self, queue: QueueName, ticket_id: str) -> int | None:
        """1-based place, or None."""
        where, rank = await self._run("locate", ticket_id)
        return int(rank) + 1 if where and _text(where) == queue.value else None

    async def peek(self, queue: QueueName) -> QueueEntry | None:
        """The head, unclaimed."""
        entries = await self.entries(queue, 1)
        return entries[0] if entries else None

    async def entries(self, queue: QueueName, limit: int = 100) -> list[QueueEntry]:
        """The first `limit` entries in service order."""
        if limit <= 0:
            return []
        members: list[Any] = await self._redis.zrange(self._keys.queue(queue), 0, limit - 1)
        if not members:
            return []
        tickets = [_text(member)[4:] for member in members]
        raws = await self._redis.hmget(self._keys.queue_entries, tickets)
        return [decode_entry(raw) for raw in raws if raw is not None]

    async def length(self, queue: QueueName) -> int:
        """Waiting tickets in the queue."""
        return int(await self._redis.zcard(self._keys.queue(queue)))

    async def claim_head(self, queue: QueueName, claimer: str, lease_seconds: float) -> Lease | None:
        """Atomically lease the head, or None if empty."""
        reply = await self._run("claim_head", queue.value, claimer, self._expiry_ms(lease_seconds))
        return self._lease_from(reply, claimer)

    async def claim_ticket(self, queue: QueueName, ticket_id: str, claimer: str, lease_seconds: float) -> Lease | None:
        """Atomically lease one ticket, or None if it is not waiting in the queue."""
        reply = await self._run("claim_ticket", queue.value, ticket_id, claimer, self._expiry_ms(lease_seconds))
        return self._lease_from(reply, claimer)

    async def ack(self, ticket_id: str, claimer: str) -> bool:
        """Finish the claimer's lease."""
        return bool(await self._run("ack", ticket_id, claimer))

    async def requeue(self, ticket_id: str, claimer: str) -> bool:
        """Give the claimer's lease back to the queue."""
        return bool(await self._run("requeue", ticket_id, claimer))

    async def remove(self, ticket_id: str) -> bool:
        """Drop the ticket wherever it is."""
        return bool(await self._run("remove", ticket_id))

    async def reclaim_expired(self) -> list[QueueEntry]:
        """Return expired leases to their queues."""
        raws = await self._run("reclaim", _ms(self._clock.now()))
        entries = [decode_entry(raw) for raw in raws or []]
        return sorted(entries, key=lambda e: (-e.priority, e.enqueued_at, e.ticket_id))

    async def leases(self) -> list[Lease]:
        """Every lease not yet acked, requeued or reclaimed."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrange(self._keys.queue_leases, 0, -1, withscores=True)
            pipe.hgetall(self._keys.queue_lease_owners)
            pipe.hgetall(self._keys.queue_entries)
            leased, owners, entries = await pipe.execute()
        owner_of = {_text(k): _text(v) for k, v in owners.items()}
        entry_of = {_text(k): v for k, v in entries.items()}
        found = []
        for ticket_raw, expires in leased:
            ticket = _text(ticket_raw)
            if ticket in entry_of and ticket in owner_of:
                expires_at = datetime.fromtimestamp(float(expires) / 1000, tz=UTC)
                found.append(Lease(decode_entry(entry_of[ticket]), owner_of[ticket], expires_at))
        return sorted(found, key=lambda lease: lease.entry.ticket_id)

    async def location(self, ticket_id: str) -> QueueName | str | None:
        """The ticket's queue, LEASED, or None (one atomic snapshot)."""
        where, _rank = await self._run("locate", ticket_id)
        if not where:
            return None
        text = _text(where)
        return LEASED if text == LEASED else QueueName(text)
