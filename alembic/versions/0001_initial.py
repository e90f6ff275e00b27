"""Initial schema: directory, conversations, messages, tickets, transitions, feedback, audit, WeCom outbox.

Revision ID: 0001
Revises:
Create Date: 2025-11-24

The audit log is append-only: triggers refuse UPDATE and DELETE on both backends (and TRUNCATE on
PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = 64


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _big_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _at(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


PG_AUDIT_GUARD = """
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
PG_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()",
)
SQLITE_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END",
)


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("skills", sa.String(200), server_default="", nullable=False),
        sa.Column("max_concurrency", sa.Integer(), nullable=False),
        sa.Column("branch", sa.String(100), nullable=False),
        sa.Column("practice_number", sa.String(32), nullable=True),
        sa.Column("backup_id", sa.String(ID), nullable=True),
        sa.Column("wecom_user_id", sa.String(ID), nullable=True),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.CheckConstraint("max_concurrency > 0", name=op.f("ck_staff_max_concurrency_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("wecom_user_id", name=op.f("uq_staff_wecom_user_id")),
    )
    op.create_index(op.f("ix_staff_role"), "staff", ["role"])

    op.create_table(
        "clients",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("branch", sa.String(100), nullable=False),
        sa.Column("responder_id", sa.String(ID), nullable=False),
        sa.Column("wecom_id", sa.String(ID), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
        sa.UniqueConstraint("wecom_id", name=op.f("uq_clients_wecom_id")),
    )

    op.create_table(
        "conversations",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("client_id", sa.String(ID), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("queue", sa.String(16), nullable=True),
        sa.Column("assignee_id", sa.String(ID), nullable=True),
        sa.Column("ticket_id", sa.String(ID), nullable=True),
        sa.Column("escalation_reason", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint("version >= 0", name=op.f("ck_conversations_version_not_negative")),
        sa.ForeignKeyConstraint(["client_id"], ["clients.id"], name=op.f("fk_conversations_client_id_clients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    op.create_index(op.f("ix_conversations_client_id"), "conversations", ["client_id"])
    op.create_index(op.f("ix_conversations_state"), "conversations", ["state"])
    op.create_index(op.f("ix_conversations_assignee_id"), "conversations", ["assignee_id"])

    op.create_table(
        "messages",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("served_tier", sa.Integer(), nullable=True),
        sa.Column("served_staff_id", sa.String(ID), nullable=True),
        _at("served_at", nullable=True),
        _at("created_at"),
        sa.CheckConstraint("seq > 0", name=op.f("ck_messages_seq_positive")),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_messages_conversation_id_conversations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("conversation_id", "seq", name=op.f("uq_messages_conversation_id")),
    )

    op.create_table(
        "tickets",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=False),
        sa.Column("client_id", sa.String(ID), nullable=False),
        sa.Column("queue", sa.String(16), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("vip", sa.Boolean(), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _at("enqueued_at"),
        sa.Column("assigned_to", sa.String(ID), nullable=True),
        _at("assigned_at", nullable=True),
        _at("first_response_at", nullable=True),
        _at("resolved_at", nullable=True),
        sa.Column("responder_step", sa.Integer(), nullable=True),
        _at("responder_deadline", nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_tickets_conversation_id_conversations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
    )
    op.create_index(op.f("ix_tickets_conversation_id"), "tickets", ["conversation_id"])
    op.create_index(op.f("ix_tickets_status"), "tickets", ["status"])
    op.create_index("ix_tickets_queue_resolved_at", "tickets", ["queue", "resolved_at"])

    op.create_table(
        "transitions",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=False),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        _at("at"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_transitions_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transitions")),
    )
    op.create_index(op.f("ix_transitions_conversation_id"), "transitions", ["conversation_id"])

    op.create_table(
        "feedback",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=False),
        sa.Column("ticket_id", sa.String(ID), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.String(ID), nullable=True),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        _at("at"),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], name=op.f("fk_feedback_conversation_id_conversations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(op.f("ix_feedback_conversation_id"), "feedback", ["conversation_id"])

    op.create_table(
        "audit_log",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        _at("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    _create_audit_guard()

    op.create_table(
        "wecom_outbox",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        _at("next_attempt_at"),
        _at("created_at"),
        _at("sent_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_wecom_outbox_status_next_attempt", "wecom_outbox", ["status", "next_attempt_at"])


def _create_audit_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_AUDIT_GUARD)
        for statement in PG_AUDIT_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_AUDIT_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_wecom_outbox_status_next_attempt", table_name="wecom_outbox")
    op.drop_table("wecom_outbox")
    op.drop_table("audit_log")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_is_append_only()")
    op.drop_table("feedback")
    op.drop_table("transitions")
    op.drop_table("tickets")
    op.drop_table("messages")
    op.drop_table("conversations")
    op.drop_table("clients")
    op.drop_table("staff")
