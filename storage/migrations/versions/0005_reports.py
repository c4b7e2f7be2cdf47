"""Reports: issue reports, their photos, their timeline and their followers.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("community_id", sa.Integer, nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("voice_file_id", sa.String(256), nullable=True),
        sa.Column("where_text", sa.String(200), nullable=False),
        sa.Column("unit_id", sa.Integer, nullable=True),
        sa.Column("latitude", sa.Float, nullable=True),
        sa.Column("longitude", sa.Float, nullable=True),
        sa.Column("reporter_id", sa.BigInteger, nullable=True),
        sa.Column("anonymous", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("notices", sa.JSON, nullable=False),
        sa.Column("post_chat_id", sa.BigInteger, nullable=True),
        sa.Column("post_message_id", sa.Integer, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
        sa.ForeignKeyConstraint(["community_id"], ["communities.id"], ondelete="CASCADE",
                                name="fk_reports_community_id_communities"),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], ondelete="SET NULL",
                                name="fk_reports_unit_id_units"),
        sa.ForeignKeyConstraint(["reporter_id"], ["people.user_id"], ondelete="SET NULL",
                                name="fk_reports_reporter_id_people"),
        sa.UniqueConstraint("community_id", "number", name="uq_reports_community_id_number"),
    )
    op.create_index("ix_reports_community_status", "reports", ["community_id", "status"])
    op.create_index("ix_reports_reporter_id", "reports", ["reporter_id"])
    op.create_table(
        "report_photos",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("file_id", sa.String(256), nullable=False),
        sa.Column("after", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("id", name="pk_report_photos"),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE",
                                name="fk_report_photos_report_id_reports"),
    )
    op.create_table(
        "report_events",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("actor_id", sa.BigInteger, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_report_events"),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE",
                                name="fk_report_events_report_id_reports"),
    )
    op.create_table(
        "report_followers",
        sa.Column("report_id", sa.Integer, nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("report_id", "user_id", name="pk_report_followers"),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], ondelete="CASCADE",
                                name="fk_report_followers_report_id_reports"),
        sa.ForeignKeyConstraint(["user_id"], ["people.user_id"], ondelete="CASCADE",
                                name="fk_report_followers_user_id_people"),
    )


def downgrade() -> None:
    for table in ("report_followers", "report_events", "report_photos", "reports"):
        op.drop_table(table)
