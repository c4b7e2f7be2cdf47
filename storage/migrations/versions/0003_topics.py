"""Topics: proposals, supports, and the weekly count per person.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "topics",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("title", sa.String(80), nullable=False),
        sa.Column("details", sa.Text, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("photo_file_id", sa.String(256), nullable=True),
        sa.Column("author_id", sa.BigInteger, nullable=True),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("merged_into", sa.Integer, nullable=True),
        sa.Column("meeting_at", UTCDateTime, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("decided_at", UTCDateTime, nullable=True),
        sa.Column("post_chat_id", sa.BigInteger, nullable=True),
        sa.Column("post_message_id", sa.Integer, nullable=True),
        sa.Column("post_digest", sa.String(64), nullable=True),
        sa.Column("notices", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_topics"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_topics_community_id_communities"),
        sa.ForeignKeyConstraint(["author_id"], ["people.user_id"], ondelete="SET NULL",
                                name="fk_topics_author_id_people"),
        sa.UniqueConstraint("community_id", "number", name="uq_topics_community_id_number"),
    )
    op.create_index("ix_topics_community_status", "topics", ["community_id", "status"])
    op.create_table(
        "topic_supports",
        sa.Column("topic_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("topic_id", "user_id", name="pk_topic_supports"),
        sa.ForeignKeyConstraint(["topic_id"], ["topics.id"], ondelete="CASCADE",
                                name="fk_topic_supports_topic_id_topics"),
        sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                name="fk_topic_supports_user_id_people"),
    )
    op.create_table(
        "topic_quota",
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("proposed", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("community_id", "user_id", "week", name="pk_topic_quota"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_topic_quota_community_id_communities"),
        sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                name="fk_topic_quota_user_id_people"),
    )


def downgrade() -> None:
    op.drop_table("topic_quota")
    op.drop_table("topic_supports")
    op.drop_table("topics")
