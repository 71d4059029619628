"""Labour, overtime and travel of each assignment's cost estimate, and their day sums

Revision ID: 0020_cost_split
Revises: 0019_dispatch_changes
Create Date: 2026-12-02 18:40:00

The matching engine prices an assignment as labour within the shift + overtime past it +
travel; ``dispatch_metrics`` kept only the total. The three parts are stored beside it
(nullable: records written before have none and count as "not split" in the cost
breakdowns), and ``daily_cost_groups`` keeps their sums and the sum of the records without
parts. The kept days are deleted here: they were summed without the parts, and are summed
again the first time a range needs them (app/services/daily_rollups.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_cost_split'
down_revision = '0019_dispatch_changes'
branch_labels = None
depends_on = None

_PARTS = ('labour_cost', 'overtime_cost', 'travel_cost')


def upgrade():
    with op.batch_alter_table('dispatch_metrics') as batch:
        for name in _PARTS:
            batch.add_column(sa.Column(name, sa.Double(), nullable=True))
    op.execute('DELETE FROM daily_cost_groups')
    op.execute('DELETE FROM daily_rollups')
    with op.batch_alter_table('daily_cost_groups') as batch:
        for name in _PARTS + ('unsplit_cost',):
            batch.add_column(sa.Column(name, sa.Double(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('daily_cost_groups') as batch:
        for name in reversed(_PARTS + ('unsplit_cost',)):
            batch.drop_column(name)
    with op.batch_alter_table('dispatch_metrics') as batch:
        for name in reversed(_PARTS):
            batch.drop_column(name)
