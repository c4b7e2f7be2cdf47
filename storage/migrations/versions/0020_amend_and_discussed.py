"""A consent proposal amended and asked again names the poll it amends; a topic discussed
at a round-table meeting keeps the meeting and a link to its minutes; a group may set the
number of supporters at which a topic goes to its moderators at once.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("polls") as batch:
        batch.add_column(sa.Column("amends", sa.Integer, nullable=True))
        batch.create_foreign_key("fk_polls_amends_polls", "polls", ["amends"], ["id"],
                                 ondelete="SET NULL")
    with op.batch_alter_table("topics") as batch:
        batch.add_column(sa.Column("discussed_at", sa.String(16), nullable=True))
        batch.add_column(sa.Column("minutes_link", sa.Text, nullable=True))
    with op.batch_alter_table("communities") as batch:
        batch.add_column(sa.Column("support_threshold", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("support_threshold")
    with op.batch_alter_table("topics") as batch:
        batch.drop_column("minutes_link")
        batch.drop_column("discussed_at")
    with op.batch_alter_table("polls") as batch:
        batch.drop_constraint("fk_polls_amends_polls", type_="foreignkey")
        batch.drop_column("amends")
