"""Report routing: handlers per category, an assignee, duplicates, a handlers' chat.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("handlers_chat_id", sa.BigInteger, nullable=True))
        batch.create_unique_constraint("uq_communities_handlers_chat_id", ["handlers_chat_id"])
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("categories", sa.JSON, nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("assignee_id", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("duplicate_of", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_reports_assignee_id_people", "people", ["assignee_id"],
                                 ["user_id"], ondelete="SET NULL")
        batch.create_foreign_key("fk_reports_duplicate_of_reports", "reports",
                                 ["duplicate_of"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_constraint("fk_reports_duplicate_of_reports", type_="foreignkey")
        batch.drop_constraint("fk_reports_assignee_id_people", type_="foreignkey")
        batch.drop_column("duplicate_of")
        batch.drop_column("assignee_id")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("categories")
    with op.batch_alter_table("communities") as batch:
        batch.drop_constraint("uq_communities_handlers_chat_id", type_="unique")
        batch.drop_column("handlers_chat_id")
