"""Personal API tokens and the answers kept for Idempotency-Key

Revision ID: 0012_api_tokens
Revises: 0011_dispatch_metrics_created_at
Create Date: 2026-12-02 07:30:00

api_tokens holds only the SHA-256 of each secret (docs/api.md); idempotency_keys keeps the
first answer to a creating request for 24 hours, per caller.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_api_tokens'
down_revision = '0011_dispatch_metrics_created_at'
branch_labels = None
depends_on = None


def _audit_columns(table: str) -> list:
    return [
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=f'fk_{table}_created_by_id_users'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=f'fk_{table}_updated_by_id_users'),
        sa.PrimaryKeyConstraint('id', name=f'pk_{table}'),
    ]


def upgrade():
    op.create_table(
        'api_tokens',
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('secret_hash', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        *_audit_columns('api_tokens'),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name='fk_api_tokens_owner_id_users'),
        sa.UniqueConstraint('secret_hash', name='uq_api_tokens_secret_hash'),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index('ix_api_tokens_owner_id', ['owner_id'], unique=False)
        batch_op.create_index('ix_api_tokens_prefix', ['prefix'], unique=False)
        batch_op.create_index('ix_api_tokens_created_by_id', ['created_by_id'], unique=False)
        batch_op.create_index('ix_api_tokens_updated_by_id', ['updated_by_id'], unique=False)

    op.create_table(
        'idempotency_keys',
        sa.Column('scope', sa.String(length=40), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=False),
        sa.Column('response_body', sa.Text(), nullable=False),
        sa.Column('location', sa.String(length=300), nullable=True),
        *_audit_columns('idempotency_keys'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_idempotency_keys_user_id_users'),
        sa.UniqueConstraint('scope', 'key', name='uq_idempotency_keys_scope_key'),
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_user_id', ['user_id'], unique=False)
        batch_op.create_index('ix_idempotency_keys_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_idempotency_keys_created_by_id', ['created_by_id'], unique=False)
        batch_op.create_index('ix_idempotency_keys_updated_by_id', ['updated_by_id'], unique=False)


def downgrade():
    op.drop_table('idempotency_keys')
    op.drop_table('api_tokens')
