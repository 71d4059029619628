"""Scheduled jobs: one row per job and time slot, and admins' schedule changes

Revision ID: 0010_scheduler
Revises: 0009_alerts
Create Date: 2026-12-02 04:00:00

- ``job_runs``: each run of a scheduled job; unique per (job, slot_start), which is how
  several schedulers agree that a slot runs once, and at most one ``running`` row per job
  (a partial unique index), which keeps a job from overlapping itself.
- ``schedule_settings``: a job's schedule as an admin changed it; jobs without a row keep
  the configured defaults, so nothing changes for existing installations.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010_scheduler'
down_revision = '0009_alerts'
branch_labels = None
depends_on = None


def _audit_columns():
    return [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
    ]


def upgrade():
    op.create_table('job_runs',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('slot_start', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('pid', sa.Integer(), nullable=True),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.Text(), nullable=True),
    *_audit_columns(),
    sa.CheckConstraint("outcome IN ('running', 'succeeded', 'failed', 'skipped')", name=op.f('ck_job_runs_outcome_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_job_runs_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_job_runs_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'slot_start', name=op.f('uq_job_runs_job_slot_start'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_runs_updated_by_id'), ['updated_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_job_runs_started_at'), ['started_at'], unique=False)
        batch_op.create_index('ix_job_runs_job_started_at', ['job', 'started_at'], unique=False)
        batch_op.create_index('uq_job_runs_one_running', ['job'], unique=True,
                              sqlite_where=sa.text("outcome = 'running'"),
                              postgresql_where=sa.text("outcome = 'running'"))

    op.create_table('schedule_settings',
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('interval_minutes', sa.Integer(), nullable=True),
    sa.Column('time_of_day', sa.String(length=5), nullable=True),
    sa.Column('weekday', sa.Integer(), nullable=True),
    *_audit_columns(),
    sa.CheckConstraint('interval_minutes IS NULL OR (interval_minutes BETWEEN 1 AND 1440)', name=op.f('ck_schedule_settings_interval_range')),
    sa.CheckConstraint('weekday IS NULL OR (weekday BETWEEN 0 AND 6)', name=op.f('ck_schedule_settings_weekday_range')),
    sa.CheckConstraint('(interval_minutes IS NULL) <> (time_of_day IS NULL)', name=op.f('ck_schedule_settings_one_kind')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_schedule_settings_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_schedule_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_settings')),
    sa.UniqueConstraint('job', name=op.f('uq_schedule_settings_job'))
    )
    with op.batch_alter_table('schedule_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_schedule_settings_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_schedule_settings_updated_by_id'), ['updated_by_id'], unique=False)


def downgrade():
    op.drop_table('schedule_settings')
    op.drop_table('job_runs')
