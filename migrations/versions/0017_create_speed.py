"""An index for the candidate pool's pending skill demand, read on every ranking

Revision ID: 0017_create_speed
Revises: 0016_daily_trends
Create Date: 2026-12-02 16:10:00

``load_pool`` counts the waiting (Created) dispatches per required skill on every ranking,
so on every create with automatic assignment. Through ``ix_dispatches_status`` that read
every waiting row from the table (13 ms of a 45 ms create at 15,000 waiting dispatches);
``(status, required_skill)`` answers the count from the index alone (timings in
docs/performance.md). The planner's statistics are gathered again once the index exists, as
in 0015.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_create_speed'
down_revision = '0016_daily_trends'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_dispatches_status_required_skill', 'dispatches', ['status', 'required_skill'])
    op.execute('ANALYZE dispatches')  # the same statement on SQLite and PostgreSQL


def downgrade():
    op.drop_index('ix_dispatches_status_required_skill', table_name='dispatches')
