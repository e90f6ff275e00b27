"""Every Redis key template the engine uses, in one place.

Templates start with DEFAULT_PREFIX ("tre:"); `RedisKeys(prefix)` swaps it for another prefix so
tests (or several engines on one Redis) stay apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.models import QueueName

DEFAULT_PREFIX = "tre:"

QUEUE = "tre:queue:{queue}"
"""Sorted set of waiting ticket ids; score = -priority * 1e12 + enqueue ms since 2020 (lower first)."""
QUEUE_ENTRIES = "tre:queue:entries"
"""Hash ticket id -> JSON queue entry (for waiting and leased tickets)."""
QUEUE_LEASES = "tre:queue:leases"
"""Sorted set of leased ticket ids; score = lease expiry (ms since the Unix epoch)."""
QUEUE_LEASE_OWNERS = "tre:queue:lease_owners"
"""Hash ticket id -> claimer of its lease."""
PRESENCE = "tre:presence:state"
"""Hash staff id -> JSON {presence, skills, expires ms}."""
PRESENCE_ONLINE = "tre:presence:online:{queue}"
"""Sorted set of ONLINE staff with the queue's skill; score = presence expiry (ms)."""
STAFF_LOAD = "tre:presence:load"
"""Hash staff id -> active conversation count."""
ROUND_ROBIN = "tre:rr:{name}"
"""Counter used to rotate ties between equally loaded staff."""
EVENTS_CHANNEL = "tre:events"
"""Pub/sub channel of routing events."""
IDEMPOTENCY = "tre:idem:{key}"
"""Claimed idempotency key; value = expiry (ms)."""
WECOM_ACCESS_TOKEN = "tre:wecom:token:{corp_id}:{agent_id}"
"""Cached WeCom access token of one corp application."""
WECOM_KF_CURSOR = "tre:wecom:kf_cursor:{corp_id}:{open_kfid}"
"""The kf/sync_msg cursor of one 微信客服 account (kept in SQL by the channel, named like every other key)."""


def render(template: str, prefix: str = DEFAULT_PREFIX, **fields: object) -> str:
    """Fill a template and put `prefix` in place of the default one."""
    return prefix + template.removeprefix(DEFAULT_PREFIX).format(**fields)


@dataclass(frozen=True)
class RedisKeys:
    """Key names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    def queue(self, queue: QueueName) -> str:
        """The waiting set of one queue."""
        return render(QUEUE, self.prefix, queue=queue.value)

    @property
    def queues(self) -> list[str]:
        """Waiting sets of every queue, in QueueName order."""
        return [self.queue(queue) for queue in QueueName]

    @property
    def queue_entries(self) -> str:
        return render(QUEUE_ENTRIES, self.prefix)

    @property
    def queue_leases(self) -> str:
        return render(QUEUE_LEASES, self.prefix)

    @property
    def queue_lease_owners(self) -> str:
        return render(QUEUE_LEASE_OWNERS, self.prefix)

    @property
    def presence(self) -> str:
        return render(PRESENCE, self.prefix)

    def presence_online(self, queue: QueueName) -> str:
        """Online staff with one skill."""
        return render(PRESENCE_ONLINE, self.prefix, queue=queue.value)

    @property
    def staff_load(self) -> str:
        return render(STAFF_LOAD, self.prefix)

    def round_robin(self, name: str) -> str:
        """One tie-break counter."""
        return render(ROUND_ROBIN, self.prefix, name=name)

    @property
    def events_channel(self) -> str:
        return render(EVENTS_CHANNEL, self.prefix)

    def idempotency(self, key: str) -> str:
        """One idempotency key."""
        return render(IDEMPOTENCY, self.prefix, key=key)

    def wecom_access_token(self, corp_id: str, agent_id: str) -> str:
        """The cached access token of a WeCom application."""
        return render(WECOM_ACCESS_TOKEN, self.prefix, corp_id=corp_id, agent_id=agent_id)
