"""media cache: the remote media queue, and the node's cache setting beside its federation mode

Revision ID: 0004_media_cache
Revises: 0003_policy
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0004_media_cache"
down_revision: str | None = "0003_policy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_fetches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", storage.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", storage.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", storage.base.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_media_fetches_attachment_id_attachments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_fetches")),
        sa.UniqueConstraint("attachment_id", name=op.f("uq_media_fetches_attachment_id")),
    )
    op.create_index(
        "ix_media_fetches_state_next_attempt_at", "media_fetches", ["state", "next_attempt_at"]
    )
    # The settings row may now exist without a chosen mode (None: computed, as before), so
    # turning the media cache on does not freeze the federation mode.
    with op.batch_alter_table("federation_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cache_remote_media", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.alter_column("mode", existing_type=sa.String(length=16), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM federation_settings WHERE mode IS NULL")
    with op.batch_alter_table("federation_settings", schema=None) as batch_op:
        batch_op.alter_column("mode", existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_column("cache_remote_media")
    op.drop_index("ix_media_fetches_state_next_attempt_at", table_name="media_fetches")
    op.drop_table("media_fetches")
