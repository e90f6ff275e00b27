"""The online learning loop: tier-1 evidence, the review queue and learned index versions.

- `kb_offers`: every answer, suggestion list and escalation of tier 1 (entries offered with scores, band)
  and what followed: confirmed, unresolved, a suggestion clicked, escalated afterwards.
- `kb_candidates`: candidate phrasings (client confirmed, staff labelled) and draft entries (from gaps),
  pending review; approved ones are the overlay merged with the corpus files at every build.
- `kb_index_versions`: index builds (pending, building, ready, failed); workers serve the newest ready one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

ID = 64


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _offers() -> None:
    op.create_table(
        "kb_offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("origin_question", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("band", sa.String(16), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("entries", _json(), nullable=False),
        sa.Column("top_faq_id", sa.String(ID), nullable=True),
        sa.Column("top_score", sa.Float(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_faq_id", sa.String(ID), nullable=True),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("index_version", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_kb_offers"),
    )
    op.create_index("ix_kb_offers_conversation", "kb_offers", ["conversation_id", "id"])
    op.create_index("ix_kb_offers_top", "kb_offers", ["top_faq_id"])


def _candidates() -> None:
    op.create_table(
        "kb_candidates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("faq_id", sa.String(ID), nullable=True),
        sa.Column("entry", _json(), nullable=True),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=True),
        sa.Column("actor", sa.String(ID), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reviewer", sa.String(ID), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_kb_candidates"),
    )
    op.create_index("ix_kb_candidates_status", "kb_candidates", ["status", "id"])


def _versions() -> None:
    op.create_table(
        "kb_index_versions",
        sa.Column("version", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("directory", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(ID), nullable=False),
        sa.Column("builder", sa.String(ID), nullable=True),
        sa.Column("phrasings", sa.Integer(), nullable=True),
        sa.Column("entries", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("version", name="pk_kb_index_versions"),
    )
    op.create_index("ix_kb_index_versions_status", "kb_index_versions", ["status", "version"])


TABLES: Sequence[str] = ("kb_index_versions", "kb_candidates", "kb_offers")


def upgrade() -> None:
    _offers()
    _candidates()
    _versions()


def downgrade() -> None:
    for name in TABLES:
        op.drop_table(name)
