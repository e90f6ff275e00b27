"""Audit chain: every audit entry is chained to the one before it by a SHA-256 hash.

Each row gets its place in the chain (`seq`), the previous entry's hash (`prev_hash`) and its own
(`hash`, routing.audit.entry_hash). Rows written before this revision are chained here in id order.
`audit_chain_head` holds the last link in one row; appends lock it, so every worker extends one chain.
A guard lets the head only move on by one entry and refuses to delete it; the append-only triggers of
audit_log (0001) are lifted while the existing rows are chained and put back afterwards.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op
from routing.audit import GENESIS_HASH, next_link, normalise_detail

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

HASH = 64
PAGE = 1000

PG_LOG_TRIGGERS = {
    "audit_log_no_update_delete": (
        "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only()"
    ),
    "audit_log_no_truncate": (
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()"
    ),
}
SQLITE_LOG_TRIGGERS = {
    "audit_log_no_update": (
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END"
    ),
    "audit_log_no_delete": (
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END"
    ),
}
PG_HEAD_GUARD = """
CREATE FUNCTION audit_chain_head_moves_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq = OLD.seq + 1 THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_chain_head only moves forward by one entry: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
PG_HEAD_TRIGGERS = (
    "CREATE TRIGGER audit_chain_head_guard BEFORE UPDATE OR DELETE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_moves_forward()",
    "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()",
)
SQLITE_HEAD_TRIGGERS = (
    "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head "
    "WHEN NEW.id <> OLD.id OR NEW.seq <> OLD.seq + 1 "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head only moves forward by one entry: UPDATE refused'); END",
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head "
    "BEGIN SELECT RAISE(ABORT, 'audit_chain_head only moves forward by one entry: DELETE refused'); END",
)

audit_rows = sa.table(
    "audit_log",
    sa.column("id", sa.BigInteger()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("detail", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("hash", sa.String()),
)


def _postgres() -> bool:
    return bool(op.get_bind().dialect.name == "postgresql")


def _drop_log_triggers() -> None:
    if _postgres():
        for name in PG_LOG_TRIGGERS:
            op.execute(f"DROP TRIGGER {name} ON audit_log")
    else:
        for name in SQLITE_LOG_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")


def _create_log_triggers() -> None:
    for statement in (PG_LOG_TRIGGERS if _postgres() else SQLITE_LOG_TRIGGERS).values():
        op.execute(statement)


def _utc(at: datetime) -> datetime:
    """SQLite hands the stored UTC time back without its zone."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _chain_existing_rows() -> tuple[int, str]:
    """Give every stored entry its link, in id order; the last link (0 and the genesis hash if none)."""
    bind = op.get_bind()
    seq, last_hash, after = 0, GENESIS_HASH, None
    while True:
        query = sa.select(audit_rows).order_by(audit_rows.c.id).limit(PAGE)
        if after is not None:
            query = query.where(audit_rows.c.id > after)
        rows: Sequence[Any] = bind.execute(query).all()
        updates = []
        for row in rows:
            detail = normalise_detail(dict(row.detail or {}))
            link = next_link(seq, last_hash, _utc(row.at), row.actor, row.action, row.subject, detail)
            updates.append(
                {"row_id": row.id, "detail": detail, "seq": link.seq, "prev_hash": link.prev_hash, "hash": link.hash}
            )
            seq, last_hash = link.seq, link.hash
        if updates:
            bind.execute(
                sa.update(audit_rows)
                .where(audit_rows.c.id == sa.bindparam("row_id"))
                .values(
                    detail=sa.bindparam("detail"),
                    seq=sa.bindparam("seq"),
                    prev_hash=sa.bindparam("prev_hash"),
                    hash=sa.bindparam("hash"),
                ),
                updates,
            )
        if len(rows) < PAGE:
            return seq, last_hash
        after = rows[-1].id


def upgrade() -> None:
    _drop_log_triggers()
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(HASH), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(HASH), nullable=True))
    head_seq, head_hash = _chain_existing_rows()
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(HASH), nullable=False)
        batch.alter_column("hash", existing_type=sa.String(HASH), nullable=False)
        batch.create_unique_constraint(op.f("uq_audit_log_seq"), ["seq"])
        batch.create_check_constraint(op.f("ck_audit_log_seq_positive"), "seq > 0")
    _create_log_triggers()

    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(HASH), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_chain_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.execute(
        sa.insert(sa.table("audit_chain_head", sa.column("id"), sa.column("seq"), sa.column("hash"))).values(
            id=1, seq=head_seq, hash=head_hash
        )
    )
    if _postgres():
        op.execute(PG_HEAD_GUARD)
        for statement in PG_HEAD_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_HEAD_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("audit_chain_head")  # its triggers go with it
    if _postgres():
        op.execute("DROP FUNCTION audit_chain_head_moves_forward()")
    _drop_log_triggers()
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_constraint(op.f("ck_audit_log_seq_positive"), type_="check")
        batch.drop_constraint(op.f("uq_audit_log_seq"), type_="unique")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    _create_log_triggers()
