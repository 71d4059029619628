"""In-app notifications: each person's list behind the bell

Revision ID: 0008_in_app_notifications
Revises: 0007_notification_deliveries
Create Date: 2026-12-02 04:00:00

- ``user_notifications``: one row per recipient of a notification on the in-app channel;
  unique per (user_id, delivery_id) so a retried delivery writes once; the unread count
  reads the (user_id, read_at) index.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008_in_app_notifications'
down_revision = '0007_notification_deliveries'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_notifications',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=True),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("severity IN ('info', 'warning', 'critical')", name=op.f('ck_user_notifications_severity_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_user_notifications_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_user_notifications_updated_by_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_notifications')),
    sa.UniqueConstraint('user_id', 'delivery_id', name=op.f('uq_user_notifications_user_id_delivery_id'))
    )
    with op.batch_alter_table('user_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_notifications_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_notifications_updated_by_id'), ['updated_by_id'], unique=False)
        batch_op.create_index('ix_user_notifications_user_id_read_at', ['user_id', 'read_at'], unique=False)


def downgrade():
    with op.batch_alter_table('user_notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_user_notifications_user_id_read_at')
        batch_op.drop_index(batch_op.f('ix_user_notifications_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_user_notifications_created_by_id'))

    op.drop_table('user_notifications')
