"""The trends figures of finished local days, kept for the technician dashboard

Revision ID: 0016_daily_trends
Revises: 0015_dashboard_indexes
Create Date: 2026-12-02 15:20:00

``daily_trends``: one row per zone and finished local day with the day's routing speed and
estimated completion p50/p95 (app/services/metrics.daily_trends). Starts empty: each day is
computed from ``dispatch_metrics`` the first time it is read, and its row deleted by any later
change to that day's records (docs/decisions.md).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_daily_trends'
down_revision = '0015_dashboard_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('daily_trends',
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('assignments', sa.Integer(), nullable=False),
    sa.Column('routing_p50_seconds', sa.Double(), nullable=True),
    sa.Column('routing_p95_seconds', sa.Double(), nullable=True),
    sa.Column('estimates', sa.Integer(), nullable=False),
    sa.Column('completion_p50_hours', sa.Double(), nullable=True),
    sa.Column('completion_p95_hours', sa.Double(), nullable=True),
    sa.Column('computed_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('zone', 'day', name=op.f('pk_daily_trends'))
    )
    op.create_index('ix_daily_trends_starts_at_ends_at', 'daily_trends', ['starts_at', 'ends_at'])


def downgrade():
    op.drop_index('ix_daily_trends_starts_at_ends_at', table_name='daily_trends')
    op.drop_table('daily_trends')
