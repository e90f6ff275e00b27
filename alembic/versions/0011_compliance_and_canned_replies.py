"""Compliance search indexes and the canned replies table, seeded with the six default replies.

Messages get an index on served_staff_id (the search's staff filter; the date range uses 0010's index on
conversations.created_at). `canned_replies` holds the console's replies per team; the rows seeded here
are the replies the console offered before they were managed (team `all`).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from alembic import op
from routing.sql_tables import UtcDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

ID = 64
SEEDED_AT = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULTS: Sequence[tuple[str, str]] = (
    ("问候", "您好，我是您的在线服务人员，很高兴为您服务，请问有什么可以帮您？"),
    ("稍等", "好的，我正在为您查询，请稍等片刻。"),
    ("核实身份", "为保障您的账户安全，办理该业务需要核实您的身份信息，请通过App“我的—账户安全”完成验证。"),
    ("风险提示", "以上内容仅供参考，不构成投资建议。投资有风险，入市需谨慎。"),
    ("转专属", "您的问题需要进一步处理，我已为您转交专属服务人员，他会尽快与您联系。"),
    ("结束", "请问还有其他可以帮您的吗？如问题已解决，请点击“问题已解答”。"),
)


def upgrade() -> None:
    op.create_index("ix_messages_served_staff_id", "messages", ["served_staff_id"])
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("team", sa.String(16), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(ID), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_canned_replies"),
    )
    op.create_index("ix_canned_replies_team", "canned_replies", ["team"])
    seeded = sa.table(
        "canned_replies",
        *(sa.column(name, sa.String()) for name in ("id", "team", "title", "text", "updated_by")),
        sa.column("updated_at", UtcDateTime()),
    )
    op.bulk_insert(
        seeded,
        [
            {
                "id": f"canned-{number:02d}",
                "team": "all",
                "title": title,
                "text": text,
                "updated_by": "system",
                "updated_at": SEEDED_AT,
            }
            for number, (title, text) in enumerate(DEFAULTS, start=1)
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_canned_replies_team", table_name="canned_replies")
    op.drop_table("canned_replies")
    op.drop_index("ix_messages_served_staff_id", table_name="messages")
