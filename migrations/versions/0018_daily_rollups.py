"""Cost sums of finished local days, and indexes that read a long range from the index alone

Revision ID: 0018_daily_rollups
Revises: 0017_create_speed
Create Date: 2026-12-02 17:50:00

``flask analyze`` over a year read a million ``dispatch_metrics`` rows from the table, each
through ``ix_dispatch_metrics_created_at``, sorted them all for the routing percentiles and
joined each to its dispatch for the cost breakdowns (docs/performance.md).

- ``daily_rollups`` / ``daily_cost_groups``: per zone and finished local day, the records'
  count and total cost per asset type, location and priority (app/services/daily_rollups.py).
  Start empty: a day is summed the first time a range needs it, and deleted by any later
  change to what it sums (docs/decisions.md).
- ``(created_at, dispatch_id, technician_id, routing_speed_seconds, operational_cost)``
  answers a range's counts, sums and maxima without touching the table;
  ``(routing_speed_seconds, created_at)`` gives the range's values in order, so a nearest-rank
  percentile is the value at its rank in one ordered index scan (no sort).

Statistics gathered again as in 0015.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_daily_rollups'
down_revision = '0017_create_speed'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('daily_rollups',
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('zone', 'day', name=op.f('pk_daily_rollups'))
    )
    op.create_index('ix_daily_rollups_starts_at_ends_at', 'daily_rollups', ['starts_at', 'ends_at'])
    op.create_table('daily_cost_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('asset_type_id', sa.Integer(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('priority', sa.String(length=20), nullable=False),
    sa.Column('assignments', sa.Integer(), nullable=False),
    sa.Column('total_cost', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['zone', 'day'], ['daily_rollups.zone', 'daily_rollups.day'],
                            name=op.f('fk_daily_cost_groups_zone_daily_rollups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_cost_groups'))
    )
    op.create_index('ix_daily_cost_groups_zone_day', 'daily_cost_groups', ['zone', 'day'])
    op.create_index('ix_dispatch_metrics_created_at_figures', 'dispatch_metrics',
                    ['created_at', 'dispatch_id', 'technician_id', 'routing_speed_seconds', 'operational_cost'])
    op.create_index('ix_dispatch_metrics_routing_speed_seconds_created_at', 'dispatch_metrics',
                    ['routing_speed_seconds', 'created_at'])
    op.execute('ANALYZE dispatch_metrics')  # the same statement on SQLite and PostgreSQL


def downgrade():
    op.drop_index('ix_dispatch_metrics_routing_speed_seconds_created_at', table_name='dispatch_metrics')
    op.drop_index('ix_dispatch_metrics_created_at_figures', table_name='dispatch_metrics')
    op.drop_index('ix_daily_cost_groups_zone_day', table_name='daily_cost_groups')
    op.drop_table('daily_cost_groups')
    op.drop_index('ix_daily_rollups_starts_at_ends_at', table_name='daily_rollups')
    op.drop_table('daily_rollups')
