"""Satisfaction ratings: a client's 1–5 rating of each resolved question; indexes for date-range reports.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

ID = 64
REPORT_INDEXES = (
    ("ix_conversations_created_at", "conversations", "created_at"),
    ("ix_tickets_enqueued_at", "tickets", "enqueued_at"),
    ("ix_feedback_at", "feedback", "at"),
    ("ix_transitions_at", "transitions", "at"),
)


def upgrade() -> None:
    op.create_table(
        "satisfaction_ratings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("tier", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.String(ID), nullable=True),
        sa.Column("ticket_id", sa.String(ID), nullable=True),
        sa.Column("queue", sa.String(16), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_satisfaction_ratings_score_1_to_5")),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_satisfaction_ratings_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_ratings")),
        sa.UniqueConstraint("conversation_id", "resolved_at", name=op.f("uq_satisfaction_ratings_conversation_id")),
    )
    op.create_index(op.f("ix_satisfaction_ratings_at"), "satisfaction_ratings", ["at"])
    for name, table, column in REPORT_INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in REPORT_INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_index(op.f("ix_satisfaction_ratings_at"), table_name="satisfaction_ratings")
    op.drop_table("satisfaction_ratings")
