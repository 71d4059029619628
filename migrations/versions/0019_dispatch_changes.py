"""An index on technician_profiles.updated_at: the counters that changed since a ranking

Revision ID: 0019_dispatch_changes
Revises: 0018_daily_rollups
Create Date: 2026-12-02 18:45:00

Each process keeps the technicians' capacity and completion counters and, before each
ranking, reads only the profiles stamped since its previous read (every claim, release and
completion rewrites ``updated_at``). The index makes that read a short range scan instead of
a pass over every profile (app/services/candidate_pool.py).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019_dispatch_changes'
down_revision = '0018_daily_rollups'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('technician_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_technician_profiles_updated_at', ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('technician_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_technician_profiles_updated_at')
