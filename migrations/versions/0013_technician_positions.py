"""Technician positions from their devices, and the candidate pool's version counter

Revision ID: 0013_technician_positions
Revises: 0012_api_tokens
Create Date: 2026-12-02 07:30:00

- ``technician_positions``: one row per location a technician shared (device time and
  server time); the ranking reads the fresh ones by ``reported_at``, a technician's page
  the latest by ``(technician_id, reported_at)``.
- ``pool_version``: one row whose counter every change to technicians, their profiles or
  skills raises in the same transaction, so each process can keep the slowly-changing
  part of the candidate pool in memory and see such a change at the next ranking.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_technician_positions'
down_revision = '0012_api_tokens'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('technician_positions',
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=False),
    sa.Column('longitude', sa.Double(), nullable=False),
    sa.Column('accuracy_m', sa.Double(), nullable=True),
    sa.Column('reported_at', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('latitude >= -90 AND latitude <= 90', name=op.f('ck_technician_positions_latitude_range')),
    sa.CheckConstraint('longitude >= -180 AND longitude <= 180', name=op.f('ck_technician_positions_longitude_range')),
    sa.CheckConstraint('accuracy_m >= 0', name=op.f('ck_technician_positions_accuracy_not_negative')),
    sa.ForeignKeyConstraint(['technician_id'], ['users.id'], name=op.f('fk_technician_positions_technician_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_technician_positions_created_by_id_users')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_technician_positions_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technician_positions'))
    )
    with op.batch_alter_table('technician_positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_technician_positions_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_technician_positions_updated_by_id'), ['updated_by_id'], unique=False)
        batch_op.create_index('ix_technician_positions_reported_at', ['reported_at'], unique=False)
        batch_op.create_index('ix_technician_positions_technician_id_reported_at', ['technician_id', 'reported_at'],
                              unique=False)

    pool_version = op.create_table('pool_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_pool_version_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pool_version'))
    )
    op.bulk_insert(pool_version, [{'id': 1, 'version': 0}])


def downgrade():
    op.drop_table('pool_version')
    with op.batch_alter_table('technician_positions', schema=None) as batch_op:
        batch_op.drop_index('ix_technician_positions_technician_id_reported_at')
        batch_op.drop_index('ix_technician_positions_reported_at')
        batch_op.drop_index(batch_op.f('ix_technician_positions_updated_by_id'))
        batch_op.drop_index(batch_op.f('ix_technician_positions_created_by_id'))

    op.drop_table('technician_positions')
