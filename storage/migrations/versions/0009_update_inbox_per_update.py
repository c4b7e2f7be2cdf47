"""Updates may now finish out of order: the inbox is cleared update by update, and what
tells a redelivered update from a new one is the highest id ever received.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("update_progress") as batch:
        batch.alter_column("last_done", new_column_name="last_received",
                           existing_type=sa.BigInteger, existing_nullable=False)
    # Everything still in the inbox was received, so the mark is at least its newest id.
    op.execute("UPDATE update_progress SET last_received = max(last_received, "
               "coalesce((SELECT max(update_id) FROM update_inbox), 0))"
               if op.get_bind().dialect.name == "sqlite" else
               "UPDATE update_progress SET last_received = greatest(last_received, "
               "coalesce((SELECT max(update_id) FROM update_inbox), 0))")


def downgrade() -> None:
    with op.batch_alter_table("update_progress") as batch:
        batch.alter_column("last_received", new_column_name="last_done",
                           existing_type=sa.BigInteger, existing_nullable=False)
