"""Staff sessions: an active flag and a token version per staff member, and hashed refresh tokens.

- `staff.active`: a disabled member (false) cannot sign in and their tokens stop working;
- `staff.token_version`: every access token carries it; bumping it (logout everywhere, a password
  change, disabling) makes every token issued before refused;
- `staff_refresh_tokens`: opaque refresh tokens stored as their SHA-256, each in a family (one sign-in);
  a token is rotated once on use, and a rotated token presented again revokes its whole family.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = 64
HASH = 64


def upgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "staff_refresh_tokens",
        sa.Column("token_hash", sa.String(HASH), nullable=False),
        sa.Column("staff_id", sa.String(ID), nullable=False),
        sa.Column("family_id", sa.String(ID), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_staff_refresh_tokens")),
    )
    op.create_index(op.f("ix_staff_refresh_tokens_staff_id"), "staff_refresh_tokens", ["staff_id"])
    op.create_index(op.f("ix_staff_refresh_tokens_family_id"), "staff_refresh_tokens", ["family_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_staff_refresh_tokens_family_id"), table_name="staff_refresh_tokens")
    op.drop_index(op.f("ix_staff_refresh_tokens_staff_id"), table_name="staff_refresh_tokens")
    op.drop_table("staff_refresh_tokens")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("token_version")
        batch.drop_column("active")
