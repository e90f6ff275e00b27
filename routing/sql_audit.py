"""The audit log in SQL: appends that extend one hash chain, and the reads that verify and show it.

Appends from any number of workers form a single chain: each locks the one-row chain head
(`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the write transaction's BEGIN IMMEDIATE already
serialises writers), chains the entry to it (routing.audit) and moves the head on, in one transaction.
The table itself refuses UPDATE and DELETE (triggers from migration 0001, kept by 0007).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from routing import sql_tables as t
from routing.audit import ChainedEntry, ChainReport, ChainWalker, next_link, normalise_detail
from routing.sql_engine import SQLITE_BEGIN_OPTION

HEAD_ID = 1
PAGE = 1000


async def append_entry(  # noqa: PLR0917 - the entry's fields
    conn: AsyncConnection, actor: str, action: str, subject: str, detail: Mapping[str, object], at: datetime
) -> ChainedEntry:
    """Chain one entry to the head and store it; run inside the caller's write transaction."""
    head = t.audit_chain_head
    row = (await conn.execute(select(head.c.seq, head.c.hash).where(head.c.id == HEAD_ID).with_for_update())).first()
    if row is None:
        raise RuntimeError("the audit chain head is missing: run the migrations (python -m routing migrate)")
    plain = normalise_detail(detail)
    link = next_link(int(row.seq), str(row.hash), at, actor, action, subject, plain)
    values = {
        "actor": actor,
        "action": action,
        "subject": subject,
        "detail": plain,
        "at": at,
        "seq": link.seq,
        "prev_hash": link.prev_hash,
        "hash": link.hash,
    }
    entry_id = (await conn.execute(insert(t.audit_log).values(values).returning(t.audit_log.c.id))).scalar_one()
    await conn.execute(update(head).where(head.c.id == HEAD_ID).values(seq=link.seq, hash=link.hash))
    return ChainedEntry(int(entry_id), link.seq, at, actor, action, subject, plain, link.prev_hash, link.hash)


def entry_from_row(row: Row[Any]) -> ChainedEntry:
    """A stored audit row as a chained entry."""
    return ChainedEntry(
        id=int(row.id),
        seq=int(row.seq),
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        detail=dict(row.detail),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AuditLogReader:
    """Reads the chain for `python -m routing audit verify` and `audit tail`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._reader = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})

    async def head(self) -> tuple[int, str]:
        """The chain head's sequence number and hash."""
        head = t.audit_chain_head
        async with self._reader.connect() as conn:
            row = (await conn.execute(select(head.c.seq, head.c.hash).where(head.c.id == HEAD_ID))).first()
        if row is None:
            raise RuntimeError("the audit chain head is missing: run the migrations (python -m routing migrate)")
        return int(row.seq), str(row.hash)

    async def entries(self) -> AsyncIterator[ChainedEntry]:
        """Every entry in chain order (seq, then id, so a duplicated seq is seen too), a page at a time."""
        log = t.audit_log.c
        after: tuple[int, int] | None = None
        while True:
            statement = select(t.audit_log).order_by(log.seq, log.id).limit(PAGE)
            if after is not None:
                seq, entry_id = after
                statement = statement.where(or_(log.seq > seq, and_(log.seq == seq, log.id > entry_id)))
            async with self._reader.connect() as conn:
                rows = (await conn.execute(statement)).all()
            for row in rows:
                yield entry_from_row(row)
            if len(rows) < PAGE:
                return
            after = (int(rows[-1].seq), int(rows[-1].id))

    async def verify(self, anchors: Mapping[int, str] | None = None) -> ChainReport:
        """Walk the whole chain against its head (and any anchors noted down elsewhere)."""
        head_seq, head_hash = await self.head()
        walker = ChainWalker(head_seq, head_hash, anchors)
        async for entry in self.entries():
            if not walker.feed(entry):
                break
        return walker.report()

    async def latest(self, count: int) -> list[ChainedEntry]:
        """The newest `count` entries, oldest first."""
        log = t.audit_log.c
        async with self._reader.connect() as conn:
            rows = (await conn.execute(select(t.audit_log).order_by(log.seq.desc(), log.id.desc()).limit(count))).all()
        return [entry_from_row(row) for row in reversed(rows)]
