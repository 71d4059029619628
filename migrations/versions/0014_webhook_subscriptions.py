"""Webhook subscriptions: integrations' URLs, event types and signing secrets

Revision ID: 0014_webhook_subscriptions
Revises: 0013_technician_positions
Create Date: 2026-12-02 07:30:00

- ``webhook_subscriptions``: one row per subscribed URL (docs/webhooks.md).
- ``notification_deliveries.subscription_id``: the subscription an event delivery is for;
  its delivery log reads this index. Deleting a subscription deletes its deliveries.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_webhook_subscriptions'
down_revision = '0013_technician_positions'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('webhook_subscriptions',
    sa.Column('url', sa.String(length=500), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('event_types', sa.JSON(), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('secret_rotated_at', sa.DateTime(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.Column('last_failure_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_webhook_subscriptions_created_by_id_users')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_webhook_subscriptions_owner_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_webhook_subscriptions_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_subscriptions_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_subscriptions_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_subscriptions_updated_by_id'), ['updated_by_id'], unique=False)

    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subscription_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notification_deliveries_subscription_id'), ['subscription_id'],
                              unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notification_deliveries_subscription_id_webhook_subscriptions'),
                                    'webhook_subscriptions', ['subscription_id'], ['id'], ondelete='CASCADE')


def downgrade():
    with op.batch_alter_table('notification_deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notification_deliveries_subscription_id_webhook_subscriptions'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notification_deliveries_subscription_id'))
        batch_op.drop_column('subscription_id')

    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_subscriptions_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_subscriptions_owner_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_subscriptions_created_by_id'))

    op.drop_table('webhook_subscriptions')
