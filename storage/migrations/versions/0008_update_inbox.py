"""An inbox for fetched updates, so a crash loses none.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "update_inbox",
        sa.Column("update_id", sa.BigInteger, autoincrement=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("received_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("update_id", name="pk_update_inbox"),
    )
    op.create_table(
        "update_progress",
        sa.Column("id", sa.Integer, autoincrement=False),
        sa.Column("last_done", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_update_progress"),
    )


def downgrade() -> None:
    op.drop_table("update_progress")
    op.drop_table("update_inbox")
