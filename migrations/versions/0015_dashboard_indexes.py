"""Indexes for the technician dashboard's counts, with the planner's statistics

Revision ID: 0015_dashboard_indexes
Revises: 0014_webhook_subscriptions
Create Date: 2026-12-02 08:00:00

Each index answers one figure of app/services/metrics.py from the index alone (timings in
docs/performance.md). SQLite's planner chooses between composite indexes by their statistics:
without them it once walked a (status, …) index for every status-filtered list and made those
pages slower, so the statistics are gathered here (ANALYZE) once the indexes exist.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0015_dashboard_indexes'
down_revision = '0014_webhook_subscriptions'
branch_labels = None
depends_on = None

INDEXES = (
    # Open work past its SLA (sla_compliance), counted from the index.
    ('ix_dispatches_status_sla_due_at', 'dispatches', ['status', 'sla_due_at', 'created_date']),
    # The waiting queue (pending_queue): Created with nobody assigned, oldest first.
    ('ix_dispatches_waiting', 'dispatches', ['status', 'assigned_user_id', 'created_date', 'priority']),
    # Each technician's latest assignment record in a window (burnout).
    ('ix_dispatch_metrics_technician_id_created_at', 'dispatch_metrics', ['technician_id', 'created_at']),
    # How many times each dispatch was assigned (first-time fix).
    ('ix_dispatch_status_history_dispatch_id_status_to', 'dispatch_status_history', ['dispatch_id', 'status_to']),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ANALYZE')
    else:
        op.execute('ANALYZE dispatches, dispatch_metrics, dispatch_status_history')


def downgrade():
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
