"""Durable notification delivery: the outbox and per-channel routing

Revision ID: 0007_notification_deliveries
Revises: 0006_time_zones
Create Date: 2026-12-02 04:00:00

- ``notification_deliveries``: one row per notification and channel, written in the
  transaction of the change it tells about; the delivery worker sends due rows, retries
  with backoff and marks the last failure dead. Claimed rows carry a lease.
- ``notification_channels``: an admin's routing of a channel (on/off, minimum severity,
  categories, extra recipients). No row: the defaults, so nothing changes on upgrade.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_notification_deliveries'
down_revision = '0006_time_zones'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_deliveries',
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('channel', sa.String(length=50), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('dispatch_number', sa.String(length=30), nullable=True),
    sa.Column('notification', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('delivered_at', sa.DateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sending', 'delivered', 'dead')", name=op.f('ck_notification_deliveries_status_known')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_notification_deliveries_attempts_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_notification_deliveries_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_notification_deliveries_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_deliveries')),
    sa.UniqueConstraint('public_id', name=op.f('uq_notification_deliveries_public_id'))
    )
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_notification_deliveries_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_deliveries_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_deliveries_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_deliveries_updated_by_id'), ['updated_by_id'], unique=False)

    op.create_table('notification_channels',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('min_severity', sa.String(length=10), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('recipient_roles', sa.JSON(), nullable=False),
    sa.Column('recipient_addresses', sa.JSON(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_notification_channels_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_notification_channels_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_channels')),
    sa.UniqueConstraint('name', name=op.f('uq_notification_channels_name'))
    )
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_channels_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_channels_updated_by_id'), ['updated_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('notification_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_channels_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_notification_channels_created_by_id'))

    op.drop_table('notification_channels')
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_created_by_id'))
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_channel'))
        batch_op.drop_index('ix_notification_deliveries_status_next_attempt_at')

    op.drop_table('notification_deliveries')
