"""Alerts, their thresholds, silences and settings

Revision ID: 0009_alerts
Revises: 0008_in_app_notifications
Create Date: 2026-12-02 04:00:00

- ``alerts``: one row per problem from first seen to resolved; a partial unique index
  keeps one open (firing or acknowledged) alert per fingerprint.
- ``alert_thresholds``: admins' thresholds per category over the configured defaults.
- ``alert_silences``: no notifications for a category until ``ends_at``.
- ``alert_settings``: quiet hours, suppression window and escalation time (one row at most).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009_alerts'
down_revision = '0008_in_app_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_settings',
    sa.Column('quiet_hours_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_hours_end', sa.String(length=5), nullable=True),
    sa.Column('suppression_minutes', sa.Integer(), nullable=False),
    sa.Column('escalation_minutes', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('escalation_minutes >= 1', name=op.f('ck_alert_settings_escalation_positive')),
    sa.CheckConstraint('suppression_minutes >= 0', name=op.f('ck_alert_settings_suppression_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_alert_settings_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_alert_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_settings'))
    )
    with op.batch_alter_table('alert_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_settings_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_settings_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('alert_silences',
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('lifted_at', sa.DateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('ends_at >= starts_at', name=op.f('ck_alert_silences_ends_after_start')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_alert_silences_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_alert_silences_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_silences'))
    )
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.create_index('ix_alert_silences_category_ends_at', ['category', 'ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_silences_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_silences_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('alert_thresholds',
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('warning', sa.Double(), nullable=False),
    sa.Column('critical', sa.Double(), nullable=False),
    sa.Column('warning_high', sa.Double(), nullable=True),
    sa.Column('critical_high', sa.Double(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_alert_thresholds_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_alert_thresholds_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_thresholds')),
    sa.UniqueConstraint('category', name=op.f('uq_alert_thresholds_category'))
    )
    with op.batch_alter_table('alert_thresholds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_thresholds_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_thresholds_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('alerts',
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=True),
    sa.Column('subject_label', sa.String(length=200), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('fingerprint', sa.String(length=300), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=15), nullable=False),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolution_note', sa.String(length=500), nullable=True),
    sa.Column('last_notified_at', sa.DateTime(), nullable=True),
    sa.Column('critical_since', sa.DateTime(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.Column('held_since', sa.DateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("severity IN ('info', 'warning', 'critical')", name=op.f('ck_alerts_severity_known')),
    sa.CheckConstraint("state IN ('firing', 'acknowledged', 'resolved')", name=op.f('ck_alerts_state_known')),
    sa.CheckConstraint('occurrences >= 1', name=op.f('ck_alerts_occurrences_positive')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_alerts_acknowledged_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_alerts_created_by_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_alerts_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_alerts_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_acknowledged_by_id'), ['acknowledged_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_category'), ['category'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_fingerprint'), ['fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_first_seen_at'), ['first_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_resolved_by_id'), ['resolved_by_id'], unique=False)
        batch_op.create_index('ix_alerts_state_severity', ['state', 'severity'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_updated_by_id'), ['updated_by_id'], unique=False)
        batch_op.create_index('uq_alerts_open_fingerprint', ['fingerprint'], unique=True, sqlite_where=sa.text("state != 'resolved'"), postgresql_where=sa.text("state != 'resolved'"))



def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_alerts_open_fingerprint', sqlite_where=sa.text("state != 'resolved'"), postgresql_where=sa.text("state != 'resolved'"))
        batch_op.drop_index(batch_op.f('ix_alerts_updated_by_id'))
        batch_op.drop_index('ix_alerts_state_severity')
        batch_op.drop_index(batch_op.f('ix_alerts_first_seen_at'))
        batch_op.drop_index(batch_op.f('ix_alerts_fingerprint'))
        batch_op.drop_index(batch_op.f('ix_alerts_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_alerts_category'))
        batch_op.drop_index(batch_op.f('ix_alerts_acknowledged_by_id'))
        batch_op.drop_index(batch_op.f('ix_alerts_resolved_by_id'))

    op.drop_table('alerts')
    with op.batch_alter_table('alert_thresholds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_thresholds_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_alert_thresholds_created_by_id'))

    op.drop_table('alert_thresholds')
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_silences_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_alert_silences_created_by_id'))
        batch_op.drop_index('ix_alert_silences_category_ends_at')

    op.drop_table('alert_silences')
    with op.batch_alter_table('alert_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_settings_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_alert_settings_created_by_id'))

    op.drop_table('alert_settings')
