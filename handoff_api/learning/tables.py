"""The learning loop's tables, on routing's single MetaData (Alembic creates them: alembic/versions/0009)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Index, Integer, String, Table, Text

from routing.sql_tables import ID, UtcDateTime, json_type, metadata

kb_offers = Table(
    "kb_offers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(ID), nullable=False),
    Column("question", Text, nullable=False),
    Column("origin_question", Text, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("band", String(16), nullable=True),
    Column("reason", String(32), nullable=True),
    Column("entries", json_type(), nullable=False),
    Column("top_faq_id", String(ID), nullable=True),
    Column("top_score", Float, nullable=True),
    Column("outcome", String(16), nullable=True),
    Column("outcome_faq_id", String(ID), nullable=True),
    Column("escalated", Boolean, nullable=False, default=False),
    Column("index_version", Integer, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("outcome_at", UtcDateTime(), nullable=True),
    Index("ix_kb_offers_conversation", "conversation_id", "id"),
    Index("ix_kb_offers_top", "top_faq_id"),
)
"""Every answer, suggestion list and escalation tier 1 gave: the entries offered with scores, the band,
and what followed (confirmed, unresolved, a suggestion clicked, escalated)."""

kb_candidates = Table(
    "kb_candidates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("faq_id", String(ID), nullable=True),
    Column("entry", json_type(), nullable=True),
    Column("source", String(24), nullable=False),
    Column("conversation_id", String(ID), nullable=True),
    Column("actor", String(ID), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("reviewer", String(ID), nullable=True),
    Column("reviewed_at", UtcDateTime(), nullable=True),
    Index("ix_kb_candidates_status", "status", "id"),
)
"""The review queue and the approved overlay: phrasings (client confirmed, staff labelled) and draft entries."""

kb_index_versions = Table(
    "kb_index_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),
    Column("directory", Text, nullable=True),
    Column("requested_by", String(ID), nullable=False),
    Column("builder", String(ID), nullable=True),
    Column("phrasings", Integer, nullable=True),
    Column("entries", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("started_at", UtcDateTime(), nullable=True),
    Column("finished_at", UtcDateTime(), nullable=True),
    Index("ix_kb_index_versions_status", "status", "version"),
)
"""Index builds: pending, building, ready (workers swap to the newest ready one) or failed."""
