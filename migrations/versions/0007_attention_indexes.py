"""Indexes for what needs attention: open work by SLA due time, waiting work by age

Revision ID: 0007_attention_indexes
Revises: 0006_time_zones
Create Date: 2026-12-02 02:30:00

The manager's home counts open dispatches past their SLA and lists the five longest
overdue, and counts and lists the oldest dispatches waiting for a technician. With only
the single-column status index both read every open row and sort it (tens of
milliseconds at 100,000 dispatches); (status, sla_due_at) and (status, created_date)
answer them from the index.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007_attention_indexes'
down_revision = '0006_time_zones'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_dispatches_status_sla_due_at', 'dispatches', ['status', 'sla_due_at'])
    op.create_index('ix_dispatches_status_created_date', 'dispatches', ['status', 'created_date'])


def downgrade():
    op.drop_index('ix_dispatches_status_created_date', table_name='dispatches')
    op.drop_index('ix_dispatches_status_sla_due_at', table_name='dispatches')
