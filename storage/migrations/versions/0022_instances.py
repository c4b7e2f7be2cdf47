"""Several instances sharing one bot: the runs alive, which run handles each chat, the
messages sent in the last minute by all of them, and which run claimed each outbox
message and each due item.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("run", sa.String(32), nullable=False, unique=True),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "chat_leases",
        sa.Column("chat_key", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("run", sa.String(32), nullable=False),
        sa.Column("taken_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_chat_leases_run", "chat_leases", ["run"])
    op.create_table(
        "send_budget",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("chat_id", sa.BigInteger, nullable=True),
        sa.Column("sent_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_send_budget_sent_at", "send_budget", ["sent_at"])
    op.create_index("ix_send_budget_chat", "send_budget", ["chat_id", "sent_at"])
    with op.batch_alter_table("update_inbox") as batch:
        batch.add_column(sa.Column("chat_key", sa.BigInteger, nullable=True))
    op.create_index("ix_update_inbox_chat", "update_inbox", ["chat_key", "update_id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(32), nullable=True))
    with op.batch_alter_table("due_work") as batch:
        batch.add_column(sa.Column("leased_by", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("due_work") as batch:
        batch.drop_column("leased_by")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("leased_by")
    op.drop_index("ix_update_inbox_chat", "update_inbox")
    with op.batch_alter_table("update_inbox") as batch:
        batch.drop_column("chat_key")
    op.drop_table("send_budget")
    op.drop_table("chat_leases")
    op.drop_table("instances")
