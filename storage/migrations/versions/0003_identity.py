"""identity: profile link checks, aliases and moves, derivatives' sources, community openness

Revision ID: 0003_identity
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.base

revision: str = "0003_identity"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("verified_at", storage.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("checked_at", storage.base.UtcDateTime(timezone=True), nullable=True),
        sa.Column("next_check_at", storage.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_link_checks_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_checks")),
        sa.UniqueConstraint("member_id", "url", name=op.f("uq_link_checks_member_id_url")),
    )
    op.create_index("ix_link_checks_next_check_at", "link_checks", ["next_check_at"])
    # Plain ADD COLUMN (no batch copy on SQLite), so other branches' columns are left alone.
    op.add_column("actors", sa.Column("also_known_as", sa.JSON(), nullable=True))
    op.add_column("actors", sa.Column("moved_to_uri", sa.String(length=2048), nullable=True))
    op.add_column("posts", sa.Column("based_on", sa.JSON(), nullable=True))
    op.add_column(
        "communities", sa.Column("minimum_openness", sa.String(length=16), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("communities", schema=None) as batch_op:
        batch_op.drop_column("minimum_openness")
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("based_on")
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_column("moved_to_uri")
        batch_op.drop_column("also_known_as")
    op.drop_index("ix_link_checks_next_check_at", table_name="link_checks")
    op.drop_table("link_checks")
