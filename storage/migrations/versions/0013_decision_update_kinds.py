"""What each entry of a decision's timeline is: its creation, a progress update (or a change
of status), or a milestone ticked. The weekly summary counts only the progress updates.

Entries written before this revision are sorted out from what they hold: the first entry
of each decision is its creation; an entry whose text is "✅ " and a milestone's title is
that milestone's tick.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decision_updates") as batch:
        batch.add_column(sa.Column("kind", sa.String(12), nullable=False,
                                   server_default="progress"))
    op.execute("UPDATE decision_updates SET kind = 'created' WHERE id IN "
               "(SELECT MIN(id) FROM decision_updates GROUP BY decision_id)")
    op.execute("UPDATE decision_updates SET kind = 'milestone' WHERE kind = 'progress' "
               "AND EXISTS (SELECT 1 FROM decision_milestones m "
               "WHERE m.decision_id = decision_updates.decision_id "
               "AND '✅ ' || m.title = decision_updates.text)")


def downgrade() -> None:
    with op.batch_alter_table("decision_updates") as batch:
        batch.drop_column("kind")
