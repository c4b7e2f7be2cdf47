"""Foundation: communities, people, memberships, audit log, due work, PTB persistence.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "communities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("quiet_hours", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_communities"),
        sa.UniqueConstraint("chat_id", name="uq_communities_chat_id"),
    )
    op.create_table(
        "people",
        sa.Column("user_id", sa.BigInteger, autoincrement=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("app_language", sa.String(8), nullable=True),
        sa.Column("started", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_people"),
    )
    op.create_index("ix_people_username", "people", ["username"])
    op.create_table(
        "memberships",
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("granted_by", sa.BigInteger, nullable=True),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("community_id", "user_id", name="pk_memberships"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_memberships_community_id_communities"),
        sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                name="fk_memberships_user_id_people"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=True),
        sa.Column("actor_id", sa.BigInteger, nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="SET NULL",
                                name="fk_audit_log_community_id_communities"),
    )
    op.create_index("ix_audit_log_community_at", "audit_log", ["community_id", "at"])
    op.create_table(
        "due_work",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("due_at", UTCDateTime, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("done_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_due_work"),
        sa.UniqueConstraint("kind", "key", name="uq_due_work_kind_key"),
    )
    op.create_index(
        "ix_due_work_pending",
        "due_work",
        ["due_at"],
        sqlite_where=sa.text("done_at IS NULL"),
        postgresql_where=sa.text("done_at IS NULL"),
    )
    op.create_table(
        "conversation_states",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("state", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", "key", name="pk_conversation_states"),
    )
    op.create_table(
        "user_data",
        sa.Column("user_id", sa.BigInteger, autoincrement=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_data"),
    )
    op.create_table(
        "chat_data",
        sa.Column("chat_id", sa.BigInteger, autoincrement=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name="pk_chat_data"),
    )


def downgrade() -> None:
    for table in ("chat_data", "user_data", "conversation_states", "due_work", "audit_log",
                  "memberships", "people", "communities"):
        op.drop_table(table)
